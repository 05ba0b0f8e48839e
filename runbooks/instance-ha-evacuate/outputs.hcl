output "status" {
  description = "finished (all recovered), error (some failed) or failed (none recovered)."
  value       = step.evacuate.status
}

output "succeeded" {
  value = step.evacuate.succeeded
}

output "failed" {
  value = step.evacuate.failed
}

output "vm_moves" {
  description = "Per instance: server, name, source_host, destination_host, status, started, ended, message."
  value       = step.evacuate.vm_moves
}
