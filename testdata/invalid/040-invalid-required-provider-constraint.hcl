# ERROR: Invalid version constraint @ 5:17
runbook "manager-recovery" {
  version = "1.0.0"
  required_providers {
    openstack = { source = "runbook-dev/openstack", version = "about 1.2" }
  }
}
