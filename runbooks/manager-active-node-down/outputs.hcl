output "failed_node" {
  value = local.node
}

output "resolution" {
  value = var.resolution
}

output "cluster_status" {
  description = "The cluster's status at the end of the run."
  value       = step.final_status.status
}

output "failed_managers" {
  description = "Managers not OK at the end of the run."
  value       = step.final_status.failed_managers
}
