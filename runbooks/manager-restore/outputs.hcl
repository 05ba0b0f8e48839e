output "restore_execution_id" {
  value = step.restore.execution_id
}

output "overdue_executions" {
  description = "Scheduled executions that were overdue when the restore ended: the manager marked them FAILED instead of running them. Start again those still needed."
  value       = step.restore.overdue_executions
}

output "overdue_count" {
  value = step.restore.overdue_count
}

output "archive_sha256" {
  value = step.archive.sha256
}

output "agents" {
  description = "install_new_agents executions by deployment."
  value       = try({ for k, s in step.install_agents : k => s.status }, null)
}

output "plugins_updates" {
  description = "Plugins update states by blueprint."
  value       = try({ for k, s in step.plugins_update : k => s.state }, null)
}

output "manager_status" {
  value = step.health.status
}
