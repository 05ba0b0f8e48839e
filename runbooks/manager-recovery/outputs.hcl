output "manager_url" {
  value = local.manager_url
}

output "old_host" {
  description = "Hypervisor the crashed manager ran on, for the post-mortem."
  value       = step.old_server.host
}

output "new_server_id" {
  value = step.new_server.id
}

output "new_server_host" {
  value = step.new_server.host
}

output "restore_execution_id" {
  value = step.restore.execution_id
}
