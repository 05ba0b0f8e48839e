# ERROR: Invalid action @ 3:13
step "backup" {
  action  = "core.exec"
  command = ["backup"]
}
