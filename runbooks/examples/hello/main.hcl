runbook "hello" {
  version = "1.0.0"
  rto     = "5m"
}

variable "workdir" {
  type        = string
  default     = ".runbook/work"
  description = "Where the copy goes, relative to this runbook."
}

locals { copy = abspath("${path.module}/${var.workdir}/hello.hcl") }

step "prepare" {
  action  = core.exec
  command = ["mkdir", "-p", dirname(local.copy)]
  timeout = "10s"
  retry { attempts = 3 }
}

step "copy" {
  action      = core.file_copy
  source      = "${path.module}/main.hcl"
  destination = local.copy
  depends_on  = [step.prepare]
}

finally "goodbye" {
  action  = core.exec
  command = ["echo", "run ${run.id} done"]
}

output "sha256" { value = step.copy.sha256 }
