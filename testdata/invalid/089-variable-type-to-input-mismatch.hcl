# ERROR: Incorrect attribute value type @ 6:13
variable "replicas" { type = number }

step "scale" {
  action  = core.exec
  command = var.replicas
}
