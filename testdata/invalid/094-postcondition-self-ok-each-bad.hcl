# ERROR: Reference to "each" without for_each @ 7:34
step "backup" {
  action  = core.exec
  command = ["backup"]
  postcondition {
    condition     = self.exit_code == 0
    error_message = "backup of ${each.key} failed"
  }
}
