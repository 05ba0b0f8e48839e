# A step declared here and again in b.hcl.
step "backup" {
  action  = core.exec
  command = ["backup"]
}
