# ERROR: Invalid provider reference @ 4:14
step "backup" {
  action   = core.exec
  provider = openstack.dr
  command  = ["backup"]
}
