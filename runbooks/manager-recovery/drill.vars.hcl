# A drill against the simulators (docs/simulators.md):
#
#   runbook sim openstack --listen 127.0.0.1:5000 --estate drill.estate.json &
#   runbook sim manager --listen 127.0.0.1:8080 --estate ../manager-drill.estate.json &
#   RUNBOOK_VAR_admin_password=admin runbook apply --auto-approve -var-file drill.vars.hcl \
#     -var snapshot_path=ARCHIVE .
#
# ARCHIVE is a snapshot of the manager simulator, such as the one
# manager-snapshot-daily leaves in its backup directory. Files ending in
# .vars.hcl are variable files: the loader does not read them as part of the
# runbook.

auth_url         = "http://127.0.0.1:5000/v3"
manager_endpoint = "http://127.0.0.1:8080"
manager_server   = "manager"
manager_port     = "6f1f3b38-2f3c-4b8e-9a52-6c1d0f6f4b11"
floating_ip      = "203.0.113.10"
image            = "cirros"
flavor           = "m1.small"
snapshot_path    = "./snapshots/manager.zip"
snapshot_id      = "recovery-drill"
insecure         = true
deployments      = ["app-prod"]
poll_interval    = "20ms"
wait_interval    = "100ms"
retry_delay      = "20ms"
