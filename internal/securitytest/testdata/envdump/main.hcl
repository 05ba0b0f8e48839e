# A command that prints its whole environment, as a careless tool or a
# `set -x` script would. Nothing in it refers to the sensitive variable,
# so its output is not sensitive: the secret must not be in the command's
# environment in the first place, nor the journal key.
runbook "envdump" {
  version = "1.0.0"
}

variable "pw" {
  type      = string
  sensitive = true
}

step "dump" {
  action  = core.exec
  command = ["env"]
}

step "use" {
  action  = core.exec
  command = ["sh", "-c", "test -n \"$PW\""]
  env     = { PW = var.pw }
}

output "env" {
  value = step.dump.stdout
}
