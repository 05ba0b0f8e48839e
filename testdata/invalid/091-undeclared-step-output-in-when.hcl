# ERROR: Unsupported attribute @ 11:24
# SKIP: D3 step output names are never checked statically: hcl's 'Unsupported attribute' is dropped by onlyTypeErrors (in step inputs too since ab49627)
step "backup" {
  action  = core.exec
  command = ["backup"]
}

step "upload" {
  action  = core.exec
  command = ["upload"]
  when    = step.backup.exit_cod == 0
}
