# ERROR: Invalid required_providers entry @ 5:17
runbook "manager-recovery" {
  version = "1.0.0"
  required_providers {
    openstack = 3
  }
}
