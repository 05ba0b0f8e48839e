# ERROR: Invalid module reference @ 8:11
module "restore" {
  source      = "./modules/restore"
  snapshot_id = "snap-1"
}

output "all" {
  value = module.restore
}
