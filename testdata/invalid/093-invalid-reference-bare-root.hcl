# ERROR: Invalid reference @ 6:13
# SKIP: D2 a bad reference in when/timeout/confirm that ParseRef rejects ('Invalid reference') is reported twice
step "backup" {
  action  = core.exec
  command = ["backup"]
  when    = var
}
