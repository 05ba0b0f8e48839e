# ERROR: Incorrect attribute value type @ 4:13
step "backup" {
  action  = core.exec
  command = 42
}
