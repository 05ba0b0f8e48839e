runbook "hello" {
  version = "1.0.0"
}

variable "workdir" {
  type    = string
  default = "./.runbook/work"
  validation {
    condition     = trimspace(var.workdir) != ""
    error_message = "workdir must not be empty."
  }
}

locals { copy = "${var.workdir}/hello.hcl" }

step "prepare" {
  action  = core.exec
  command = ["mkdir", "-p", var.workdir]
  timeout = "10s"
  retry { attempts = 3 }
}

step "copy" {
  action      = core.file_copy
  source      = "${path.module}/main.hcl"
  destination = local.copy
  depends_on  = [step.prepare]
}

step "pause" {
  action     = core.sleep
  duration   = "1s"
  depends_on = [step.copy]
}

finally "goodbye" {
  action  = core.exec
  command = ["echo", "run ${run.id} done"]
}

output "sha256" { value = step.copy.sha256 }
