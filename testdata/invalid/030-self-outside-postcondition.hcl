# ERROR: Invalid "self" reference @ 6:21
step "check" {
  action  = core.exec
  command = ["check"]
  precondition {
    condition     = self.exit_code == 0
    error_message = "failed"
  }
}
