# ERROR: Reference to undeclared variable @ 12:11
# ERROR: Reference to undeclared variable @ 17:17
# WARNING: Provider schema not available @ 11:1
runbook "r" {
  version = "1.0.0"
  required_providers {
    openstack = "~> 1.0"
  }
}

provider "openstack" {
  cloud = var.cloud
}

module "restore" {
  source      = "./modules/restore"
  snapshot_id = var.snapshot
}
