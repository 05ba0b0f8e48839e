# ERROR: Duplicate step @ 7:9
step "backup" {
  action  = core.exec
  command = ["backup"]
}

finally "backup" {
  action  = core.exec
  command = ["cleanup"]
}
