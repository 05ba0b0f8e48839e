# ERROR: Invalid retry attempts @ 6:16
step "restart" {
  action  = core.exec
  command = ["restart"]
  retry {
    attempts = 0
  }
}
