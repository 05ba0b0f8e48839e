# The cancellation test's runbook: "hold" waits until var.gate exists, so
# the test can interrupt the run while it waits, then let the resumed run
# through. The finally step leaves a mark each time it runs.
runbook "cancel" {
  version = "1.0.0"
}

variable "gate" {
  type = string
}

variable "marks" {
  type = string
}

step "first" {
  action     = core.exec
  command    = ["echo \"first\" >> \"$0\"", var.marks]
  shell      = true
  idempotent = true
}

step "hold" {
  action     = core.wait
  command    = ["test", "-e", var.gate]
  interval   = "50ms"
  depends_on = [step.first]
}

step "after" {
  action     = core.exec
  command    = ["echo \"after\" >> \"$0\"", var.marks]
  shell      = true
  depends_on = [step.hold]
}

finally "cleanup" {
  action  = core.exec
  command = ["echo \"cleanup\" >> \"$0\"", var.marks]
  shell   = true
}
