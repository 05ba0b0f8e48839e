# ERROR: Unsupported attribute @ 10:35
# Fixed defect D3: this case guards against its return.
step "backup" {
  action  = core.exec
  command = ["backup"]
}

step "upload" {
  action  = core.exec
  command = ["upload", step.backup.stdot]
}
