output "certificates" {
  description = "sha256 of the saved certificate files."
  value       = try(compact(split("\n", step.certs.stdout)), null)
}

output "restore_execution_id" {
  value = step.restore.execution_id
}

output "overdue_executions" {
  description = "Scheduled executions that were overdue when the restore ended: the manager marked them FAILED instead of running them. Start again those still needed."
  value       = step.restore.overdue_executions
}

output "cluster_status" {
  value = step.healthy.status
}

output "managers" {
  value = step.healthy.managers
}
