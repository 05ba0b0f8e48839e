# The mid-flight test's runbook: "once" is not idempotent (it appends to a
# log), so a crash during it must make resume stop and ask for --rerun.
runbook "once" {
  version = "1.0.0"
}

variable "log" {
  type = string
}

step "once" {
  action  = core.exec
  command = ["echo once >> \"$0\"", var.log]
  shell   = true
}

step "after" {
  action     = core.exec
  command    = ["echo after >> \"$0\"", var.log]
  shell      = true
  depends_on = [step.once]
}
