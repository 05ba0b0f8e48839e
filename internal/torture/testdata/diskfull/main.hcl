# The disk-full test's runbook (package torture): each item prints
# var.bytes bytes, which its StepSucceeded record carries into the journal,
# until the small filesystem under the state directory is full. Every item
# leaves "ADDRESS RUN_ID" in var.ledger, so the test can count executions.
runbook "torture-diskfull" {
  version = "1.0.0"
}

variable "ledger" {
  type = string
}

variable "items" {
  type = number
}

variable "bytes" {
  type = number
}

step "fill" {
  for_each   = toset([for i in range(var.items) : format("%02d", i)])
  action     = core.exec
  command    = ["echo \"$1 $2\" >> \"$0\" && head -c \"$3\" /dev/zero | tr '\\0' x", var.ledger, "step.fill[\"${each.key}\"]", run.id, tostring(var.bytes)]
  shell      = true
  idempotent = true
}

step "after" {
  action     = core.exec
  command    = ["echo \"$1 $2\" >> \"$0\"", var.ledger, "step.after", run.id]
  shell      = true
  idempotent = true
  depends_on = [step.fill]
}

finally "cleanup" {
  action     = core.exec
  command    = ["echo \"$1 $2\" >> \"$0\"", var.ledger, "step.cleanup", run.id]
  shell      = true
  idempotent = true
}
