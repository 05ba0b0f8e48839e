# ERROR: Unsupported attribute @ 9:22
# Fixed defect D3: this case guards against its return.
step "backup" {
  action  = core.exec
  command = ["backup"]
}

output "log" {
  value = step.backup.stdot
}
