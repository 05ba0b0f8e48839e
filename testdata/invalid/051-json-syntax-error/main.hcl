# ERROR: Trailing comma in object @ steps.hcl.json:5:28
# Fixed defect D6: this case guards against its return.
runbook "r" { version = "1.0.0" }
