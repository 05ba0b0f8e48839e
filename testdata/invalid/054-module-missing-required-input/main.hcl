# ERROR: Missing module input @ 2:1
module "restore" {
  source = "./modules/restore"
}
