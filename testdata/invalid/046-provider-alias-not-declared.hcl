# ERROR: Unknown provider configuration @ 3:14
step "backup" {
  action   = core.exec
  provider = core.remote
  command  = ["backup"]
}
