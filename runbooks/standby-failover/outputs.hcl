output "rerouted_to" {
  value = var.secondary_address
}

output "containers" {
  description = "The secondary's containers and their state after the failover."
  value       = [for k, s in step.healthy : { container = k, state = s.state, health = s.health }]
}
