variable "replicas" { type = number }

step "scale" {
  action  = core.exec
  command = ["scale", tostring(var.replicas)]
}
