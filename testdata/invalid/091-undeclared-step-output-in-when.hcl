# ERROR: Unsupported attribute @ 11:24
# Fixed defect D3: this case guards against its return.
step "backup" {
  action  = core.exec
  command = ["backup"]
}

step "upload" {
  action  = core.exec
  command = ["upload"]
  when    = step.backup.exit_cod == 0
}
