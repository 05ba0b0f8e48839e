# ERROR: Invalid character @ 5:24
# ERROR: Missing newline after argument @ 5:24
step "backup" {
  action  = core.exec
  command = ["backup"] ; dir = "/srv"
}
