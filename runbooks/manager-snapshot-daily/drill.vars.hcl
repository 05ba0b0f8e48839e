# A drill against the simulator (docs/simulators.md):
#
#   runbook sim manager --listen 127.0.0.1:8080 &
#   RUNBOOK_VAR_admin_password=admin runbook apply -var-file drill.vars.hcl .
#
# Files ending in .vars.hcl are variable files, not part of the runbook.

endpoint       = "http://127.0.0.1:8080"
username       = "admin"
backup_dir     = "./.runbook/drill-backups"
keep_local     = 2
keep_remote    = 2
poll_interval  = "20ms"
retry_attempts = 8
retry_delay    = "50ms"
