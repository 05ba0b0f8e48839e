# ERROR: Unknown reference @ 4:24
step "backup" {
  action  = core.exec
  command = ["backup", foo.bar]
}
