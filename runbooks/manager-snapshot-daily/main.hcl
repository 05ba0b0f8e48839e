# Daily snapshot of a Cloudify manager (seed 002, "Cloudify Backup and
# Restore Guide", Snapshots: "Snapshots of the HA Cloudify Manager cluster
# should be taken at regular intervals (suggest daily) ... automated using
# the REST API").
#
#   1. create a snapshot with the agents' credentials
#      (cfy snapshots create --include-credentials SNAPSHOT_ID;
#      PUT /api/v3.1/snapshots/SNAPSHOT_ID) and wait until it is created
#   2. download it (cfy snapshots download; GET .../snapshots/ID/archive)
#      into backup_dir, streamed to a temporary file and renamed when whole
#   3. prove the file on disk is what was streamed (sha256) and write a
#      sha256sum-compatible SNAPSHOT.zip.sha256 beside it
#   4. keep the newest keep_local archives in backup_dir and the newest
#      keep_remote snapshots named snapshot_prefix* on the manager; other
#      snapshots are never touched
#
# Snapshot IDs are snapshot_prefix + the run's ID (a ULID, lower-cased), so
# they sort by time and a resumed run keeps its snapshot.
#
#   RUNBOOK_VAR_admin_password=... runbook apply -var endpoint=https://manager.example.com .
#   runbook sim manager --listen 127.0.0.1:8080 &      # a drill against the simulator:
#   RUNBOOK_VAR_admin_password=admin runbook apply -var-file drill.vars.hcl .

runbook "manager-snapshot-daily" {
  version     = "1.0.0"
  description = "Snapshot a Cloudify manager, keep a verified copy locally and prune old snapshots"
  rto         = "30m"

  required_providers {
    manager = ">= 0.1.0"
  }
}

provider "manager" {
  endpoint      = var.endpoint
  username      = var.username
  password      = var.admin_password
  token         = var.token
  tenant        = var.tenant
  ca_file       = var.ca_file
  insecure      = var.insecure
  poll_interval = var.poll_interval
}

locals {
  snapshot_id = "${var.snapshot_prefix}${lower(run.id)}"
  backup_dir  = abspath(var.backup_dir)
  archive     = "${local.backup_dir}/${local.snapshot_id}.zip"

  # Snapshots of this runbook on the manager, newest first (the IDs sort by
  # time), and those beyond the newest keep_remote. Snapshots still being
  # created are left alone.
  ours = reverse(sort([
    for s in step.remote.snapshots : s.id
    if startswith(s.id, var.snapshot_prefix) && s.status != "creating"
  ]))
  prune_remote = slice(local.ours, min(var.keep_remote, length(local.ours)), length(local.ours))
}

step "create" {
  action              = manager.snapshot_create
  snapshot_id         = local.snapshot_id
  include_credentials = true
  include_logs        = var.include_logs
  include_events      = var.include_events
  queue               = true
  timeout             = var.create_timeout
  retry {
    attempts  = var.retry_attempts
    delay     = var.retry_delay
    max_delay = "2m"
  }
}

step "download" {
  action      = manager.snapshot_download
  snapshot_id = step.create.snapshot_id
  path        = local.archive
  timeout     = var.download_timeout
  retry {
    attempts  = var.retry_attempts
    delay     = var.retry_delay
    max_delay = "2m"
  }
}

# Read the archive back from disk: it must be what was streamed.
step "verify" {
  action = core.checksum
  path   = step.download.path
  sha256 = step.download.sha256
}

# SNAPSHOT.zip.sha256, checked later with `sha256sum -c`.
step "record_checksum" {
  action     = core.exec
  command    = ["sh", "-c", "printf '%s  %s\\n' \"$SUM\" \"$NAME\" > \"$NAME.sha256\""]
  dir        = local.backup_dir
  env        = { SUM = step.verify.sha256, NAME = "${local.snapshot_id}.zip" }
  idempotent = true
}

# Keep the newest keep_local archives of this runbook in backup_dir (their
# names sort by time) and their .sha256 files; print what was removed.
step "prune_local" {
  action = core.exec
  shell  = true
  command = [<<-EOT
    cd -- "$BACKUP_DIR" &&
    ls -1 | grep -E "^$${PREFIX}[0-9a-z]+\.zip$" | sort -r | tail -n +"$((KEEP + 1))" |
    while IFS= read -r f; do rm -f -- "$f" "$f.sha256" && echo "$f"; done
  EOT
  ]
  env        = { BACKUP_DIR = local.backup_dir, PREFIX = var.snapshot_prefix, KEEP = tostring(var.keep_local), LC_ALL = "C" }
  idempotent = true
  depends_on = [step.record_checksum]
}

# Prune the manager only once a verified copy is on disk.
step "remote" {
  action     = manager.snapshot_list
  search     = var.snapshot_prefix
  depends_on = [step.verify]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "prune_remote" {
  for_each    = toset(local.prune_remote)
  action      = manager.snapshot_delete
  snapshot_id = each.value
  missing_ok  = true
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}
