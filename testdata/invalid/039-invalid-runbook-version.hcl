# ERROR: Invalid runbook version @ 3:13
runbook "manager-recovery" {
  version = "one.two"
}
