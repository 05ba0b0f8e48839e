# ERROR: Duplicate module @ 7:8
module "restore" {
  source      = "./modules/restore"
  snapshot_id = "snap-1"
}

module "restore" {
  source      = "./modules/restore"
  snapshot_id = "snap-2"
}
