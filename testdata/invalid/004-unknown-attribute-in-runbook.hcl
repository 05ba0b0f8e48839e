# ERROR: Unsupported argument @ 4:3
runbook "manager-recovery" {
  version = "1.3.0"
  owner   = "ops"
}
