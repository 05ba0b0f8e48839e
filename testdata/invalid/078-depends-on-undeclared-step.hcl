# ERROR: Reference to undeclared step @ 5:17
step "backup" {
  action     = core.exec
  command    = ["backup"]
  depends_on = [step.snapshot]
}
