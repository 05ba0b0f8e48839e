# ERROR: Invalid duration @ 5:13
step "restart" {
  action  = core.exec
  command = ["restart"]
  timeout = "5 minutes"
}
