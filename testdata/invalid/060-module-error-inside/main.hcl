# ERROR: Reference to undeclared variable @ modules/restore/main.hcl:7:11
module "restore" {
  source = "./modules/restore"
}
