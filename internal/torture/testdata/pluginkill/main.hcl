# The plugin-kill test's runbook (package torture): step.hold blocks in the
# torture plugin on its first attempt until the test SIGKILLs the plugin
# process; the retry must run on a new plugin process and the run finish.
runbook "torture-pluginkill" {
  version = "1.0.0"

  required_providers {
    torture = ">= 0.1.0"
  }
}

variable "ledger" {
  type = string
}

variable "marker" {
  type = string
}

step "before" {
  action = torture.record
  ledger = var.ledger
  line   = "step.before ${run.id}"
}

step "hold" {
  action     = torture.hold
  ledger     = var.ledger
  line       = "step.hold ${run.id}"
  marker     = var.marker
  depends_on = [step.before]
  retry {
    attempts = 3
    delay    = "10ms"
  }
}

step "after" {
  action     = torture.record
  ledger     = var.ledger
  line       = "step.after ${run.id}"
  depends_on = [step.hold]
}

finally "cleanup" {
  action     = core.exec
  command    = ["echo \"$1 $2\" >> \"$0\"", var.ledger, "step.cleanup", run.id]
  shell      = true
  idempotent = true
}
