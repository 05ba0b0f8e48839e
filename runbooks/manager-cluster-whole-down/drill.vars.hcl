# A drill against the simulator (docs/simulators.md), with an archive made by
# manager-snapshot-daily and a directory holding a saved /etc/cloudify/ssl:
#
#   runbook sim manager --listen 127.0.0.1:8080 --estate cluster.json &
#   RUNBOOK_VAR_admin_password=admin runbook apply -var-file drill.vars.hcl \
#     -var snapshot_path=SNAPSHOT.zip -var certs_dir=SAVED_SSL_DIR .
#
# Files ending in .vars.hcl are variable files, not part of the runbook.

endpoint        = "http://127.0.0.1:8080"
username        = "admin"
managers        = ["manager-1", "manager-2", "manager-3"]
certs_dir       = "./.runbook/drill-ssl"
snapshot_path   = "./.runbook/drill-backups/snapshot.zip"
snapshot_id     = "latest-working"
poll_interval   = "20ms"
retry_attempts  = 8
retry_delay     = "50ms"
install_timeout = "1m"
restore_timeout = "2m"
