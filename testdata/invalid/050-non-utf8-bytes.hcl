# ERROR: Invalid character encoding @ 5:18
# ERROR: Unterminated template string @ 5:18
step "backup" {
  action  = core.exec
  command = ["café"]
}
