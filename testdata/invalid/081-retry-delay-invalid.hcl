# ERROR: Invalid duration @ 7:16
step "restart" {
  action  = core.exec
  command = ["restart"]
  retry {
    attempts = 3
    delay    = "soon"
  }
}
