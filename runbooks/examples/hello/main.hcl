runbook "hello" {
  version = "1.0.0"
  rto     = "5m"
}

step "prepare" {
  action  = core.exec
  command = ["mkdir", "-p", "${path.module}/.runbook/work"]
  timeout = "10s"
  retry { attempts = 3 }
}

step "copy" {
  action      = core.file_copy
  source      = "${path.module}/main.hcl"
  destination = "${path.module}/.runbook/work/hello.hcl"
  depends_on  = [step.prepare]
}

finally "goodbye" {
  action  = core.exec
  command = ["echo", "run ${run.id} done"]
}

output "sha256" { value = step.copy.sha256 }
