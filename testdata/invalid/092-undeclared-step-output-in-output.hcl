# ERROR: Unsupported attribute @ 9:22
# SKIP: D3 step output names are never checked statically: hcl's 'Unsupported attribute' is dropped by onlyTypeErrors (in step inputs too since ab49627)
step "backup" {
  action  = core.exec
  command = ["backup"]
}

output "log" {
  value = step.backup.stdot
}
