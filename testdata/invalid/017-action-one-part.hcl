# ERROR: Invalid action @ 3:13
step "backup" {
  action  = exec
  command = ["backup"]
}
