# The crash test's runbook: every step appends its name to var.log, so the
# test can count how many times each ran. Steps are idempotent, so resume
# re-runs one caught mid-flight without asking.
runbook "crash" {
  version = "1.0.0"
}

variable "log" {
  type = string
}

locals {
  mark = "echo \"$1\" >> \"$0\""
}

step "a" {
  action     = core.exec
  command    = [local.mark, var.log, "a"]
  shell      = true
  idempotent = true
}

# An idempotent action: its start is journaled without waiting for the
# sync, so the crash points also cover records still queued when killed.
step "nap" {
  action     = core.sleep
  duration   = "0s"
  depends_on = [step.a]
}

step "fan" {
  for_each   = toset(["x", "y", "z"])
  action     = core.exec
  command    = [local.mark, var.log, "fan-${each.key}"]
  shell      = true
  idempotent = true
  depends_on = [step.nap]
}

step "join" {
  action     = core.exec
  command    = [local.mark, var.log, "join"]
  shell      = true
  idempotent = true
  depends_on = [step.fan]
}

step "b" {
  action     = core.exec
  command    = [local.mark, var.log, "b"]
  shell      = true
  idempotent = true
}

step "c" {
  action     = core.exec
  command    = [local.mark, var.log, "c-${step.b.exit_code}"]
  shell      = true
  idempotent = true
}

finally "done" {
  action     = core.exec
  command    = [local.mark, var.log, "done"]
  shell      = true
  idempotent = true
}
