# ERROR: Cannot read runbook @ 3:12
module "restore" {
  source = "./modules/does-not-exist"
}
