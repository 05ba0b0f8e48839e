# ERROR: Unclosed configuration block @ 2:15
step "backup" {
  action  = core.exec
  command = ["backup"]
