# A local disaster-recovery drill that needs nothing but the core provider and
# coreutils: archive some directories, record their digests, copy the archives
# to an "off-site" directory, prove that the copies restore byte for byte, and
# only then prune old copies.
#
#   runbook plan  runbooks/examples/local-backup
#   runbook apply runbooks/examples/local-backup -var 'directories=["config"]'

runbook "local-backup" {
  version     = "1.0.0"
  description = "Archive directories, copy them off-site and prove that the copies restore"
  rto         = "30m"
}

locals {
  workdir      = abspath(var.workdir)
  source_dir   = abspath(coalesce(var.source_dir, "${path.module}/sample"))
  archive_dir  = "${local.workdir}/archives"
  offsite_root = "${local.workdir}/offsite"
  offsite_dir  = "${local.offsite_root}/${run.id}"
  restore_dir  = "${local.workdir}/restore/${run.id}"
  lock_file    = "${local.source_dir}/.backup.lock"

  # sha256sum prints one "DIGEST  NAME.tar.gz" line per archive; key the
  # digests by directory name.
  digests = {
    for line in compact(split("\n", step.manifest.stdout)) :
    trimsuffix(split("  ", line)[1], ".tar.gz") => split("  ", line)[0]
  }
}

step "prepare" {
  action  = core.exec
  command = ["mkdir", "-p", "--", local.archive_dir, local.offsite_dir]
  timeout = "30s"
  retry {
    attempts  = 3
    delay     = "1s"
    backoff   = 2
    max_delay = "5s"
  }
}

# The application holds this lock while it writes; an archive taken meanwhile
# could be torn. Here `timeout` is the step's meta-argument: it bounds the wait.
step "quiesce" {
  action   = core.wait
  command  = ["test", "!", "-e", local.lock_file]
  interval = "2s"
  timeout  = "5m"
}

step "signoff" {
  action     = core.approve
  message    = "Make sure nothing writes to ${local.source_dir} until the archives are taken, then approve."
  depends_on = [step.quiesce]
}

step "archive" {
  for_each   = var.directories
  action     = core.exec
  command    = ["tar", "-czvf", "${local.archive_dir}/${each.key}.tar.gz", "-C", local.source_dir, each.value]
  timeout    = "10m"
  depends_on = [step.prepare, step.signoff]
  postcondition {
    condition     = length(compact(split("\n", self.stdout))) > 0
    error_message = "The archive of ${each.key} holds no files."
  }
}

step "manifest" {
  action     = core.exec
  command    = concat(["sha256sum", "--"], [for d in sort(var.directories) : "${d}.tar.gz"])
  dir        = local.archive_dir
  idempotent = true
  depends_on = [step.archive]
}

step "ship" {
  for_each    = var.directories
  action      = core.file_copy
  source      = "${local.archive_dir}/${each.key}.tar.gz"
  destination = "${local.offsite_dir}/${each.key}.tar.gz"
  mode        = "0600"
  depends_on  = [step.prepare, step.manifest]
}

step "encrypt" {
  for_each = var.directories
  when     = var.encrypt
  action   = core.exec
  command = [
    "openssl", "enc", "-aes-256-cbc", "-pbkdf2", "-salt",
    "-in", step.ship[each.key].path, "-out", "${step.ship[each.key].path}.enc",
    "-pass", "env:BACKUP_PASSPHRASE",
  ]
  env = { BACKUP_PASSPHRASE = var.passphrase }
}

module "verify" {
  source      = "./modules/verify"
  archives    = { for d in var.directories : d => step.ship[d].path }
  expected    = { for d in var.directories : d => local.digests[d] }
  source_dir  = local.source_dir
  restore_dir = local.restore_dir
}

step "prune" {
  action = core.exec
  command = [
    "find", local.offsite_root, "-mindepth", "1", "-maxdepth", "1", "-type", "d",
    "-mtime", "+${var.retention_days}", "-print", "-exec", "rm", "-rf", "--", "{}", "+",
  ]
  confirm    = "Delete the off-site copies older than ${var.retention_days} days under ${local.offsite_root}?"
  depends_on = [module.verify]
  precondition {
    condition     = length(module.verify.restored) == length(var.directories)
    error_message = "Not every archive restored identical to its source; keeping the old copies."
  }
}

# Restored files are copies of production data: remove them whatever happened.
finally "cleanup" {
  action  = core.exec
  command = ["rm", "-rf", "--", local.restore_dir]
}
