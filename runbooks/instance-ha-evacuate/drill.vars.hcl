# A drill against the simulator (docs/simulators.md):
#
#   runbook sim openstack --listen 127.0.0.1:5000 &
#   RUNBOOK_VAR_admin_password=admin runbook apply --auto-approve -var-file drill.vars.hcl .
#
# Files ending in .vars.hcl are variable files, not part of the runbook.

auth_url        = "http://127.0.0.1:5000/v3"
failed_host     = "compute-1"
recovery_method = "rh_priority"
segment_hosts = [
  { name = "compute-2", priority = 1 },
  { name = "compute-3", reserved = true },
]
poll_interval  = "20ms"
retry_attempts = 6
retry_delay    = "50ms"
