# The kill torture's runbook (package torture). Every step leaves a line
# "ADDRESS RUN_ID" in var.ledger each time it runs, so the test can count
# executions across SIGKILLs and resumes: core.exec steps through a shell,
# torture steps in the plugin process. The manager steps leave their trace
# in the simulator's request log instead.
runbook "torture-kill" {
  version = "1.0.0"

  required_providers {
    torture = ">= 0.1.0"
    manager = ">= 0.1.0"
  }
}

variable "ledger" {
  type = string
}

variable "endpoint" {
  type = string
}

variable "backup_dir" {
  type = string
}

variable "sleep" {
  type    = string
  default = "40ms"
}

provider "manager" {
  endpoint      = var.endpoint
  username      = "admin"
  password      = "admin"
  poll_interval = "10ms"
}

locals {
  # $0 is the ledger, $1 the address, $2 the run ID.
  mark = "echo \"$1 $2\" >> \"$0\""
}

step "prepare" {
  action     = core.exec
  command    = [local.mark, var.ledger, "step.prepare", run.id]
  shell      = true
  idempotent = true
}

step "plug" {
  action     = torture.record
  ledger     = var.ledger
  line       = "step.plug ${run.id}"
  sleep      = var.sleep
  depends_on = [step.prepare]
}

step "fan" {
  for_each   = toset(["a", "b", "c", "d"])
  action     = torture.record_once
  ledger     = var.ledger
  line       = "step.fan[\"${each.key}\"] ${run.id}"
  sleep      = var.sleep
  depends_on = [step.plug]
}

step "create" {
  action      = manager.snapshot_create
  snapshot_id = "torture-${lower(run.id)}"
  depends_on  = [step.prepare]
  retry {
    attempts = 5
    delay    = "20ms"
  }
}

step "download" {
  action      = manager.snapshot_download
  snapshot_id = step.create.snapshot_id
  path        = "${var.backup_dir}/${step.create.snapshot_id}.zip"
  retry {
    attempts = 5
    delay    = "20ms"
  }
}

step "nap" {
  action     = core.sleep
  duration   = var.sleep
  depends_on = [step.download]
}

step "join" {
  action     = core.exec
  command    = [local.mark, var.ledger, "step.join", run.id, step.download.sha256]
  shell      = true
  idempotent = true
  depends_on = [step.fan, step.nap]
}

finally "cleanup" {
  action     = core.exec
  command    = [local.mark, var.ledger, "step.cleanup", run.id]
  shell      = true
  idempotent = true
}

finally "unplug" {
  action = torture.record
  ledger = var.ledger
  line   = "step.unplug ${run.id}"
  sleep  = var.sleep
}
