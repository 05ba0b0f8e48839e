output "offsite_dir" {
  description = "Where this run's off-site copies are."
  value       = local.offsite_dir
}

output "manifest" {
  description = "sha256sum lines of the archives, taken before they were copied."
  value       = step.manifest.stdout
}

output "restored" {
  description = "Directories whose off-site copy restored identical to the source."
  value       = module.verify.restored
}

output "digests" {
  description = "sha256 of every off-site copy, by directory."
  value       = module.verify.digests
}

output "passphrase_sha256" {
  description = "Tells later which passphrase encrypted this run's copies, without storing it."
  value       = sha256(var.passphrase)
  sensitive   = true
}
