# ERROR: Missing required argument @ 2:15
step "backup" {
  action = core.exec
  dir    = "/srv"
}
