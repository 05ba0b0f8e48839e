# Proves that archives restore: checks every archive against the digest taken
# before it was copied, extracts it into restore_dir, and compares the result
# with the source directory.

variable "archives" {
  type        = map(string)
  description = "Archive path, by directory name."
}

variable "expected" {
  type        = map(string)
  description = "Expected sha256 of each archive, by directory name."
}

variable "source_dir" {
  type        = string
  description = "Directory that holds the original directories."
}

variable "restore_dir" {
  type        = string
  description = "Empty or missing directory to extract the archives into."
}

step "checksum" {
  for_each = var.archives
  action   = core.checksum
  path     = each.value
  sha256   = var.expected[each.key]
  postcondition {
    condition     = self.size > 0
    error_message = "The archive of ${each.key} is empty."
  }
}

step "prepare" {
  action  = core.exec
  command = ["mkdir", "-p", "--", var.restore_dir]
}

step "restore" {
  for_each   = var.archives
  action     = core.exec
  command    = ["tar", "-xzf", each.value, "-C", var.restore_dir]
  depends_on = [step.checksum, step.prepare]
}

step "compare" {
  for_each   = var.archives
  action     = core.exec
  command    = ["diff", "-r", "${var.source_dir}/${each.key}", "${var.restore_dir}/${each.key}"]
  idempotent = true
  depends_on = [step.restore]
}

output "restored" {
  description = "Directories whose archive restored identical to the source."
  value       = sort(keys(step.compare))
}

output "digests" {
  description = "sha256 of every archive checked, by directory."
  value       = { for k, c in step.checksum : k => c.sha256 }
}
