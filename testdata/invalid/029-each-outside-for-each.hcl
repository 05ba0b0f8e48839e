# ERROR: Reference to "each" without for_each @ 5:24
step "restart" {
  action  = core.exec
  command = ["systemctl", "restart", "api"]
  confirm = "Restart ${each.value}?"
}
