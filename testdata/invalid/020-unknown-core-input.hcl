# ERROR: Unsupported argument @ 5:3
step "backup" {
  action  = core.exec
  command = ["backup"]
  environ = { A = "1" }
}
