# A drill against the simulator (docs/simulators.md), with an archive made by
# manager-snapshot-daily or `cfy snapshots download`:
#
#   runbook sim manager --listen 127.0.0.1:8080 &
#   RUNBOOK_VAR_admin_password=admin runbook apply -var-file drill.vars.hcl -var snapshot_path=SNAPSHOT.zip .
#
# Files ending in .vars.hcl are variable files, not part of the runbook.

endpoint        = "http://127.0.0.1:8080"
username        = "admin"
snapshot_path   = "./.runbook/drill-backups/snapshot.zip"
snapshot_id     = "restored-snapshot"
deployments     = ["app-prod"]
blueprints      = ["app"]
poll_interval   = "20ms"
retry_attempts  = 8
retry_delay     = "50ms"
restore_timeout = "2m"
