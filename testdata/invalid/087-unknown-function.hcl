# ERROR: Call to unknown function @ 4:24
step "backup" {
  action  = core.exec
  command = ["backup", uppercase("x")]
}
