# ERROR: Duplicate runbook block @ 3:1
runbook "manager-recovery" { version = "1.0.0" }
runbook "manager-recovery-2" { version = "1.0.0" }
