# ERROR: Variables not allowed @ 7:13
# SKIP: D4 a non-literal value in a literal-only attribute gives extra 'Unsuitable value type' (and 'Invalid duration' for rto) errors
variable "rto" { default = "30m" }

runbook "manager-recovery" {
  version = "1.0.0"
  rto     = var.rto
}
