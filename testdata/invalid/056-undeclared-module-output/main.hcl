# ERROR: Reference to undeclared module output @ 8:11
module "restore" {
  source      = "./modules/restore"
  snapshot_id = "snap-1"
}

output "execution" {
  value = module.restore.executoin_id
}
