# Known leak: the argument a function fails on is derived from the
# sensitive variable (lower(var.pw)), so it is not the string the engine
# knows to remove from messages.
runbook "fnerror-derived" {
  version = "1.0.0"
}

variable "pw" {
  type      = string
  sensitive = true
}

step "number" {
  action  = core.exec
  command = ["echo", tostring(tonumber(lower(var.pw)))]
}
