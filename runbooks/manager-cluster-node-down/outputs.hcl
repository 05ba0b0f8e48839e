output "replaced_node" {
  value = local.node
}

output "cluster_status" {
  value = step.healthy.status
}

output "managers" {
  value = step.healthy.managers
}
