# ERROR: Unsupported argument @ 8:5
step "ping" {
  action  = core.exec
  command = ["true"]
  precondition {
    condition     = true
    error_message = "never"
    severity      = "warning"
  }
}
