# ERROR: Invalid reference @ 6:13
# Fixed defect D2: this case guards against its return.
step "backup" {
  action  = core.exec
  command = ["backup"]
  when    = var
}
