# ERROR: Invalid for_each argument @ 3:14
step "restart" {
  for_each = ["api", "worker"]
  action   = core.exec
  command  = ["systemctl", "restart", each.value]
}
