# ERROR: Incorrect value type @ 5:13
step "restore" {
  action  = core.exec
  command = ["restore"]
  confirm = ["yes", "really"]
}
