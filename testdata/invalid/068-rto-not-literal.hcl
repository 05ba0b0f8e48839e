# ERROR: Variables not allowed @ 7:13
# Fixed defect D4: this case guards against its return.
variable "rto" { default = "30m" }

runbook "manager-recovery" {
  version = "1.0.0"
  rto     = var.rto
}
