# ERROR: Trailing comma in object @ steps.hcl.json:5:28
# SKIP: D6 a JSON file with a syntax error is still decoded, giving a misleading 'Incorrect JSON value type' cascade
runbook "r" { version = "1.0.0" }
