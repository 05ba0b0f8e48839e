# ERROR: Reference to undeclared local value @ 9:13
locals {
  backup_dir = "/srv/backup"
}

step "backup" {
  action  = core.exec
  command = ["backup"]
  dir     = local.backupdir
}
