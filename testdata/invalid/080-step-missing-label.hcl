# ERROR: Missing name for step @ 2:6
step {
  action  = core.exec
  command = ["backup"]
}
