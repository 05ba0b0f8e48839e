step "restore" {
  action  = core.exec
  command = ["restore"]
}

output "snapshot" {
  value = var.snapshot_id
}
