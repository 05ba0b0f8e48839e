output "transferred" {
  description = "Every file sent to the secondary, with the sha256 it was verified against."
  value = concat(
    [{ file = step.send_backup.path, sha256 = step.send_backup.sha256, size = step.send_backup.size }],
    [for k, s in step.send_images : { file = s.path, sha256 = s.sha256, size = s.size }],
    [{ file = step.send_config.path, sha256 = step.send_config.sha256, size = step.send_config.size }],
  )
}

output "images" {
  description = "The images loaded on the secondary and their IDs (the primary's)."
  value       = [for ref, id in local.image_ids : { reference = ref, id = id }]
}

output "backup_sha256" {
  value = step.backup_checksum.sha256
}
