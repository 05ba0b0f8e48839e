# ERROR: Incorrect attribute value type @ 5:13
step "backup" {
  action  = core.exec
  command = ["backup"]
  shell   = "yes"
}
