# Nightly transfer to the standby site (seed 004, Codenvy "Disaster
# Recovery", Nightly Data Transfers): the data store, the Docker images and
# the configuration of the primary system are copied to the secondary
# system and installed there, so that a failover finds the secondary as of
# last night.
#
# On the primary system (its Docker engine is docker.primary):
#   1. run the backup: a command (`codenvy backup`) that writes the archive
#      to $BACKUP_FILE, or a Cloudify manager snapshot (backup_method)
#   2. list the images (`docker images`, filtered by image_references and
#      image_labels)
#   3. save each image into its own tar (`docker save`), hashed as it streams
#   4. copy the configuration (codenvy.pp) beside them
# Transfer: every file goes to secondary_dir, a directory on the secondary
# (a local or mounted path, or sftp://user@host/path over SSH with host
# key checking); each copy is read back and must have the primary's sha256.
# On the secondary system (its Docker engine is docker.secondary):
#   1. restore the backup (`codenvy restore`, or upload and restore the
#      manager snapshot)
#   2. load each image (`docker load`) and check that its ID is the one the
#      primary has
#   3. replace the configuration (secondary_config_file) with the primary's
#   4. restart the system: restart_command and/or restart_containers, each
#      container waited for until healthy
#
# The image tars are streamed to the secondary's engine from the staging
# copies on this host: the copies sent to secondary_dir have the same
# sha256, and they are what a cold standby loads after a disaster.
#
#   runbook apply -var secondary_dir=sftp://dr@standby.example.com/srv/dr .
#   runbook apply -var-file drill.vars.hcl .     # both sites on this machine

runbook "standby-nightly-transfer" {
  version     = "1.0.0"
  description = "Transfer the data store, Docker images and configuration of the primary site to the standby site"
  rto         = "2h"

  required_providers {
    docker  = ">= 0.1.0"
    manager = ">= 0.1.0"
  }
}

provider "docker" {
  alias     = "primary"
  host      = var.primary_docker_host
  ca_file   = var.docker_ca_file
  cert_file = var.docker_cert_file
  key_file  = var.docker_key_file
}

provider "docker" {
  alias     = "secondary"
  host      = var.secondary_docker_host
  ca_file   = var.docker_ca_file
  cert_file = var.docker_cert_file
  key_file  = var.docker_key_file
}

# Used only when backup_method = "manager".
provider "manager" {
  alias    = "primary"
  endpoint = var.primary_manager_endpoint
  username = var.manager_username
  password = var.manager_password
  ca_file  = var.manager_ca_file
}

provider "manager" {
  alias    = "secondary"
  endpoint = var.secondary_manager_endpoint
  username = var.manager_username
  password = var.manager_password
  ca_file  = var.manager_ca_file
}

locals {
  staging     = abspath(var.staging_dir)
  secondary   = trimsuffix(var.secondary_dir, "/")
  backup_name = var.backup_method == "manager" ? "backup.zip" : "backup.tar"
  backup_file = "${local.staging}/${local.backup_name}"
  config_name = basename(var.config_file)

  # The one backup method in use: the steps of the other have no item.
  by_command = var.backup_method == "command" ? toset(["command"]) : toset([])
  by_manager = var.backup_method == "manager" ? toset(["manager"]) : toset([])
  snapshot   = "standby-${lower(run.id)}"

  # Every tag of the listed images, and the file each is saved to.
  image_ids = merge([for i in step.images.images : { for t in i.repo_tags : t => i.id }]...)
  tar_names = { for r in keys(local.image_ids) : r => "image-${regex_replace(r, "[^A-Za-z0-9_.-]", "_")}.tar" }

  # What the secondary's own commands see of secondary_dir: the path of an
  # sftp:// or ssh:// URL.
  secondary_path = regex_replace(local.secondary, "^(sftp|ssh)://[^/]*/", "/")

}

step "staging" {
  action     = core.exec
  command    = ["mkdir", "-p", "--", local.staging]
  idempotent = true
}

# --- On the primary --------------------------------------------------------

step "backup" {
  for_each   = local.by_command
  action     = core.exec
  command    = var.backup_command
  env        = { BACKUP_FILE = local.backup_file }
  timeout    = var.backup_timeout
  depends_on = [step.staging]
  precondition {
    condition     = length(var.backup_command) > 0
    error_message = "backup_method is \"command\" but backup_command is empty."
  }
}

step "snapshot" {
  for_each            = local.by_manager
  action              = manager.snapshot_create
  provider            = manager.primary
  snapshot_id         = local.snapshot
  include_credentials = true
  timeout             = var.backup_timeout
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "snapshot_download" {
  for_each    = local.by_manager
  action      = manager.snapshot_download
  provider    = manager.primary
  snapshot_id = step.snapshot[each.key].snapshot_id
  path        = local.backup_file
  depends_on  = [step.staging]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "backup_checksum" {
  action     = core.checksum
  path       = local.backup_file
  depends_on = [step.backup, step.snapshot_download]
}

step "images" {
  action   = docker.image_list
  provider = docker.primary
  filters = {
    reference = var.image_references
    label     = var.image_labels
  }
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
  postcondition {
    condition     = length(self.images) > 0
    error_message = "No image on the primary matches image_references and image_labels: there is nothing to transfer."
  }
}

step "save" {
  for_each   = local.image_ids
  action     = docker.image_save
  provider   = docker.primary
  images     = [each.key]
  path       = "${local.staging}/${local.tar_names[each.key]}"
  timeout    = var.image_timeout
  depends_on = [step.staging]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "config" {
  action      = core.file_copy
  source      = var.config_file
  destination = "${local.staging}/${local.config_name}"
  depends_on  = [step.staging]
}

# --- Transfer --------------------------------------------------------------

step "send_backup" {
  action                       = core.file_copy
  source                       = local.backup_file
  destination                  = "${local.secondary}/${local.backup_name}"
  expect_sha256                = step.backup_checksum.sha256
  ssh_private_key_file         = var.ssh_private_key_file
  ssh_known_hosts_file         = var.ssh_known_hosts_file
  ssh_password                 = var.ssh_password
  ssh_insecure_ignore_host_key = var.ssh_insecure_ignore_host_key
  timeout                      = var.transfer_timeout
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "send_images" {
  for_each                     = local.image_ids
  action                       = core.file_copy
  source                       = step.save[each.key].path
  destination                  = "${local.secondary}/${local.tar_names[each.key]}"
  expect_sha256                = step.save[each.key].sha256
  ssh_private_key_file         = var.ssh_private_key_file
  ssh_known_hosts_file         = var.ssh_known_hosts_file
  ssh_password                 = var.ssh_password
  ssh_insecure_ignore_host_key = var.ssh_insecure_ignore_host_key
  timeout                      = var.transfer_timeout
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "send_config" {
  action                       = core.file_copy
  source                       = step.config.path
  destination                  = "${local.secondary}/${local.config_name}"
  expect_sha256                = step.config.sha256
  ssh_private_key_file         = var.ssh_private_key_file
  ssh_known_hosts_file         = var.ssh_known_hosts_file
  ssh_password                 = var.ssh_password
  ssh_insecure_ignore_host_key = var.ssh_insecure_ignore_host_key
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

# --- On the secondary ------------------------------------------------------

step "restore" {
  for_each = local.by_command
  action   = core.exec
  command  = var.restore_command
  env = {
    BACKUP_FILE   = "${local.secondary_path}/${local.backup_name}"
    BACKUP_SHA256 = step.send_backup.sha256
  }
  timeout = var.restore_timeout
  precondition {
    condition     = length(var.restore_command) > 0
    error_message = "backup_method is \"command\" but restore_command is empty."
  }
}

step "snapshot_upload" {
  for_each    = local.by_manager
  action      = manager.snapshot_upload
  provider    = manager.secondary
  snapshot_id = local.snapshot
  path        = local.backup_file
  depends_on  = [step.send_backup]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "snapshot_restore" {
  for_each    = local.by_manager
  action      = manager.snapshot_restore
  provider    = manager.secondary
  snapshot_id = step.snapshot_upload[each.key].snapshot_id
  timeout     = var.restore_timeout
}

step "load" {
  for_each   = local.image_ids
  action     = docker.image_load
  provider   = docker.secondary
  path       = step.save[each.key].path
  depends_on = [step.send_images, step.restore, step.snapshot_restore]
  timeout    = var.image_timeout
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
  postcondition {
    condition     = contains([for i in self.images : i.id], each.value)
    error_message = "The image loaded on the secondary does not have the primary's ID."
  }
}

step "replace_config" {
  action                       = core.file_copy
  source                       = step.config.path
  destination                  = var.secondary_config_file
  expect_sha256                = step.send_config.sha256
  ssh_private_key_file         = var.ssh_private_key_file
  ssh_known_hosts_file         = var.ssh_known_hosts_file
  ssh_password                 = var.ssh_password
  ssh_insecure_ignore_host_key = var.ssh_insecure_ignore_host_key
  depends_on                   = [step.restore, step.snapshot_restore]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "restart" {
  action     = core.exec
  command    = var.restart_command
  timeout    = var.restart_timeout
  depends_on = [step.load, step.replace_config]
}

step "restart_containers" {
  for_each   = var.restart_containers
  action     = docker.container_restart
  provider   = docker.secondary
  container  = each.key
  depends_on = [step.restart]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "healthy" {
  for_each  = var.restart_containers
  action    = docker.container_wait_healthy
  provider  = docker.secondary
  container = step.restart_containers[each.key].id
  timeout   = var.restart_timeout
}
