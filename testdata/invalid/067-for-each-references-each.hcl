# ERROR: Reference to "each" without for_each @ 3:21
step "restart" {
  for_each = toset([each.key])
  action   = core.exec
  command  = ["systemctl", "restart", each.value]
}
