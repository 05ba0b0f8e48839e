output "snapshot_id" {
  description = "The snapshot created by this run."
  value       = step.create.snapshot_id
}

output "archive" {
  description = "The local copy of the snapshot."
  value       = step.download.path
}

output "sha256" {
  value = step.verify.sha256
}

output "size" {
  value = step.verify.size
}

output "pruned_local" {
  description = "Archives removed from backup_dir."
  value       = try(compact(split("\n", step.prune_local.stdout)), null)
}

output "pruned_remote" {
  description = "Snapshots deleted from the manager."
  value       = try(local.prune_remote, null)
}
