# ERROR: Unknown provider @ 3:12
step "server" {
  action = openstak.server_get
  server = "manager"
}
