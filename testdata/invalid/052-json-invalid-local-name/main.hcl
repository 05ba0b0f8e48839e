# ERROR: Invalid name @ locals.hcl.json:3:5
runbook "r" { version = "1.0.0" }
