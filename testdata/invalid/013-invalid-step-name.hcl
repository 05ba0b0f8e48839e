# ERROR: Invalid name @ 2:6
step "1st-backup" {
  action  = core.exec
  command = ["backup"]
}
