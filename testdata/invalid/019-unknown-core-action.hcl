# ERROR: Unknown action @ 3:13
step "backup" {
  action  = core.exex
  command = ["backup"]
}
