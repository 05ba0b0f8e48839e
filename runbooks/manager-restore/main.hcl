# Restore a Cloudify manager from a snapshot archive (seed 002, "Cloudify
# Backup and Restore Guide", Applying snapshot):
#
#   1. upload the snapshot (cfy snapshots upload; PUT /api/v3.1/snapshots/ID/archive)
#   2. switch the manager to maintenance mode (cfy maintenance-mode activate)
#      and verify it is activated: running executions have drained
#   3. restore the snapshot (cfy snapshots restore; POST .../snapshots/ID/restore)
#   4. wait for the snapshot-restore status (cfy snapshots status;
#      GET /api/v3.1/snapshot-status) until no restore runs; the manager
#      restarts meanwhile
#   5. leave maintenance mode, then, as the guide advises after an upgrade:
#      run install_new_agents on the deployments (the agents reconnect to
#      the restored manager's RabbitMQ) and update the blueprints' plugins
#      (cfy plugins update BLUEPRINT_ID)
#   finally: leave maintenance mode whatever happened
#
# Special case (seed 002, "restoring scheduled executions"): scheduled
# executions that are overdue when the restore ends are marked FAILED by the
# manager, not run. The output overdue_executions lists them: run again the
# ones that are still needed.
#
#   runbook sim manager --listen 127.0.0.1:8080 &      # a drill against the simulator
#   RUNBOOK_VAR_admin_password=admin runbook apply -var-file drill.vars.hcl -var snapshot_path=SNAPSHOT.zip .

runbook "manager-restore" {
  version     = "1.0.0"
  description = "Upload a snapshot to a Cloudify manager and restore it in maintenance mode"
  rto         = "1h"

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

# The archive is readable and, when its digest is known (the .sha256 file of
# manager-snapshot-daily), intact.
step "archive" {
  action = core.checksum
  path   = var.snapshot_path
  sha256 = var.snapshot_sha256
}

# The manager answers and the credentials work, before anything changes.
step "manager" {
  action = manager.manager_status
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "upload" {
  action      = manager.snapshot_upload
  snapshot_id = var.snapshot_id
  path        = var.snapshot_path
  depends_on  = [step.archive, step.manager]
  timeout     = var.upload_timeout
  retry {
    attempts  = var.retry_attempts
    delay     = var.retry_delay
    max_delay = "2m"
  }
}

step "maintenance_on" {
  action     = manager.maintenance_activate
  timeout    = var.drain_timeout
  depends_on = [step.upload]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "restore" {
  action               = manager.snapshot_restore
  snapshot_id          = step.upload.snapshot_id
  force                = var.force
  restore_certificates = var.restore_certificates
  no_reboot            = var.no_reboot
  timeout              = var.restore_timeout
  confirm              = "Restore snapshot ${var.snapshot_id} over the state of the manager at ${var.endpoint}"
  depends_on           = [step.maintenance_on]
  precondition {
    condition     = var.restore_certificates || !var.no_reboot
    error_message = "no_reboot = true needs restore_certificates = true; the manager refuses it otherwise."
  }
  # A retry after a timeout waits for the restore already running instead
  # of starting another.
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "restore_done" {
  action       = manager.snapshot_status_wait
  execution_id = step.restore.execution_id
  timeout      = var.restore_timeout
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

# Executions are refused in maintenance mode: leave it before the agents.
step "maintenance_off" {
  action     = manager.maintenance_deactivate
  depends_on = [step.restore_done]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "install_agents" {
  for_each      = var.install_new_agents ? var.deployments : toset([])
  action        = manager.execution_start
  workflow_id   = "install_new_agents"
  deployment_id = each.key
  parameters    = var.install_agents_parameters
  wait          = true
  timeout       = var.agents_timeout
  depends_on    = [step.maintenance_off]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "plugins_update" {
  for_each     = var.update_plugins ? var.blueprints : toset([])
  action       = manager.plugins_update
  blueprint_id = each.key
  force        = var.plugins_update_force
  timeout      = var.agents_timeout
  depends_on   = [step.install_agents]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "health" {
  action     = manager.manager_status
  depends_on = [step.plugins_update]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
  postcondition {
    condition     = self.healthy
    error_message = "The restored manager reports status ${self.status}: check its services (cfy status)."
  }
}

finally "leave_maintenance" {
  action = manager.maintenance_deactivate
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}
