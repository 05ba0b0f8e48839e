# ERROR: Invalid each attribute @ 6:14
step "restart" {
  for_each = toset(["api", "worker"])
  action   = core.exec
  command  = ["systemctl", "restart", each.value]
  when     = each.name != "api"
}
