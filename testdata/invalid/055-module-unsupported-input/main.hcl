# ERROR: Unsupported module input @ 5:3
module "restore" {
  source      = "./modules/restore"
  snapshot_id = "snap-1"
  snapshot    = "snap-1"
}
