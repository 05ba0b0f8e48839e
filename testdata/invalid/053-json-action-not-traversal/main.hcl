# ERROR: Invalid action @ steps.hcl.json:4:17
runbook "r" { version = "1.0.0" }
