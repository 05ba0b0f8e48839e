# Values for a drill against the simulators (`runbook sim openstack|manager`):
#
#   RUNBOOK_VAR_admin_password=admin runbook plan -var-file drill.vars.hcl .
#
# Files ending in .vars.hcl are variable files: the loader does not read them
# as part of the runbook.

manager_server = "manager"
manager_port   = "6f1f3b38-2f3c-4b8e-9a52-6c1d0f6f4b11"
floating_ip    = "203.0.113.10"
image          = "cirros"
flavor         = "m1.small"
snapshot_path  = "./snapshots/manager.zip"
insecure       = true
deployments    = ["web", "db"]
