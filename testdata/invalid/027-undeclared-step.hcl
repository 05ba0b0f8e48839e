# ERROR: Reference to undeclared step @ 11:21
step "backup" {
  action  = core.exec
  command = ["backup"]
}

step "upload" {
  action  = core.exec
  command = ["upload"]
  precondition {
    condition     = step.bakup.exit_code == 0
    error_message = "The backup failed."
  }
}
