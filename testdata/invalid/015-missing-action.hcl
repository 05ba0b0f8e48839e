# ERROR: Missing required argument @ 2:15
step "backup" {
  command = ["backup"]
}
