variable "snapshot_id" { type = string }

step "restore" {
  action  = core.exec
  command = ["restore", var.snapshot_id]
}

output "execution_id" { value = step.restore.stdout }
