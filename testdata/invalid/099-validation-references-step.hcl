# ERROR: Invalid reference in variable validation @ 5:21
variable "region" {
  type = string
  validation {
    condition     = step.backup.exit_code == 0
    error_message = "Backup failed."
  }
}

step "backup" {
  action  = core.exec
  command = ["backup"]
}
