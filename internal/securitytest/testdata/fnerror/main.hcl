# Functions that quote their argument in their error (go-cty's tonumber,
# go-cty-funcs' base64decode), called on a sensitive variable: in step
# inputs, which fail at plan and at apply, and in an output.
runbook "fnerror" {
  version = "1.0.0"
}

variable "pw" {
  type      = string
  sensitive = true
}

step "number" {
  action  = core.exec
  command = ["echo", tostring(tonumber(var.pw))]
}

step "decode" {
  action  = core.exec
  command = ["echo", base64decode(var.pw)]
}

output "number" {
  value     = tonumber(var.pw)
  sensitive = true
}
