# ERROR: Incorrect value type @ 5:13
step "restart" {
  action  = core.exec
  command = ["restart"]
  when    = "string-not-bool"
}
