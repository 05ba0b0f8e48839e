# ERROR: Invalid duration @ 4:13
runbook "manager-recovery" {
  version = "1.0.0"
  rto     = "half an hour"
}
