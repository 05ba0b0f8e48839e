# ERROR: Invalid for_each argument @ 8:14
variable "hosts" {
  type      = map(string)
  sensitive = true
}

step "restart" {
  for_each = var.hosts
  action   = core.exec
  command  = ["restart", each.value]
}
