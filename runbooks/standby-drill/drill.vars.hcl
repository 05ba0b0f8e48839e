# A drill of the drill: point secondary_url at a test double of the
# secondary's API (the tests start one), then
#
#   RUNBOOK_VAR_password=... runbook apply -var-file drill.vars.hcl .
#
# Files ending in .vars.hcl are variable files, not part of the runbook.

secondary_url  = "http://127.0.0.1:8080"
username       = "drill"
retry_attempts = 2
retry_delay    = "100ms"
