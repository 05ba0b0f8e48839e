# ERROR: Duplicate step @ 2:6
step "backup" {
  action  = core.exec
  command = ["backup", "--again"]
}
