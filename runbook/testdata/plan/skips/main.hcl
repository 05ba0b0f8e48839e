runbook "skips" {
  version = "1.0.0"
  rto     = "1h"
}

variable "method" {
  type    = string
  default = "none"
  validation {
    condition     = contains(["none", "evacuate"], var.method)
    error_message = "method is none or evacuate."
  }
}

step "list" {
  action  = core.exec
  command = ["printf", "a b"]
}

step "evacuate" {
  action  = core.exec
  when    = var.method != "none"
  command = ["echo", "evacuate"]
}

step "after" {
  action  = core.exec
  command = ["echo", step.evacuate.stdout]
}

step "each_unknown" {
  for_each = toset(split(" ", step.list.stdout))
  action   = core.exec
  command  = ["echo", each.value]
  confirm  = "Really touch ${each.key}?"
}

step "per_item" {
  for_each = { one = 1, two = 2 }
  when     = each.value > 1
  action   = core.sleep
  duration = "${each.value}s"
}
