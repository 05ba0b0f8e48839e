# A drill against the simulator (docs/simulators.md) with a three-manager
# estate; make a node other than the first (the simulator's first node is
# the one the endpoint reaches) fail with POST /_sim/faults
# {"cluster_nodes": {"manager-2": "Fail"}} and set it back to OK at the last
# approval:
#
#   runbook sim manager --listen 127.0.0.1:8080 --estate cluster.json &
#   RUNBOOK_VAR_admin_password=admin runbook apply -var-file drill.vars.hcl .
#
# Files ending in .vars.hcl are variable files, not part of the runbook.

endpoint         = "http://127.0.0.1:8080"
username         = "admin"
resolution       = "replace"
poll_interval    = "20ms"
retry_attempts   = 8
retry_delay      = "50ms"
failover_timeout = "1m"
heal_timeout     = "1m"
