# Manager recovery (seed 000): the VM hosting a Cloudify manager has crashed.
# Its floating IP and its Neutron port outlive it, so a new VM can take over
# the same public and private addresses, and the agents find it again once the
# latest snapshot is restored on it.
#
#   1. detach the floating IP and the port from the crashed server
#   2. terminate the crashed server
#   3. create a new server on the same port, attach the floating IP
#   4. upload the snapshot and restore it; wait for the restore to finish
#   5. reinstall the agents of every deployment (install_new_agents)
#
# Limitation: if the crashed VM was deleted through the cloud API, its port
# was deleted with it and the private IP is lost; this runbook cannot help.

runbook "manager-recovery" {
  version     = "1.0.0"
  description = "Replace a crashed manager VM and restore its latest snapshot"
  rto         = "1h"

  required_providers {
    openstack = { source = "runbook-dev/openstack", version = "~> 0.1" }
    manager   = ">= 0.1.0, < 1.0.0"
  }
}

locals {
  # The new VM answers on the floating IP; a drill points manager_endpoint at
  # `runbook sim manager` instead.
  manager_url = var.manager_endpoint != "" ? var.manager_endpoint : "https://${var.floating_ip}"
  # With auth_url the cloud is reached with these credentials, else through
  # the clouds.yaml entries cloud and admin_cloud.
  os_direct   = var.auth_url != null
  os_password = var.os_password != null ? var.os_password : var.admin_password
}

provider "openstack" {
  cloud               = local.os_direct ? null : var.cloud
  auth_url            = var.auth_url
  username            = local.os_direct ? var.username : null
  password            = local.os_direct ? local.os_password : null
  project_name        = local.os_direct ? var.project_name : null
  user_domain_name    = local.os_direct ? var.domain : null
  project_domain_name = local.os_direct ? var.domain : null
  region              = var.region
  insecure            = var.os_insecure
  poll_interval       = var.poll_interval
}

# Pinning a server to a hypervisor (availability_zone = "nova:HOST") is an
# admin operation in Nova, so server_create uses this second configuration
# (with auth_url: the same credentials, which must then be an admin's).
provider "openstack" {
  alias               = "admin"
  cloud               = local.os_direct ? null : var.admin_cloud
  auth_url            = var.auth_url
  username            = local.os_direct ? var.username : null
  password            = local.os_direct ? local.os_password : null
  project_name        = local.os_direct ? var.project_name : null
  user_domain_name    = local.os_direct ? var.domain : null
  project_domain_name = local.os_direct ? var.domain : null
  region              = var.region
  insecure            = var.os_insecure
  poll_interval       = var.poll_interval
}

provider "manager" {
  endpoint      = local.manager_url
  username      = var.manager_username
  password      = var.admin_password
  tenant        = var.tenant
  ca_file       = var.ca_file
  insecure      = var.insecure
  poll_interval = var.poll_interval
}

step "old_server" {
  action = openstack.server_get
  server = var.manager_server
  retry {
    attempts = 6
    delay    = var.retry_delay
  }
}

step "detach_ip" {
  action      = openstack.floating_ip_disassociate
  floating_ip = var.floating_ip
  depends_on  = [step.old_server]
  retry {
    attempts = 6
    delay    = var.retry_delay
    backoff  = 2
  }
}

step "detach_port" {
  action = openstack.port_detach
  server = step.old_server.id
  port   = var.manager_port
  retry {
    attempts  = 6
    delay     = var.retry_delay
    backoff   = 2
    max_delay = "1m"
  }
}

step "terminate" {
  action     = openstack.server_delete
  server     = step.old_server.id
  confirm    = "Delete the crashed manager VM ${var.manager_server}"
  timeout    = "5m"
  depends_on = [step.detach_ip, step.detach_port]
  retry {
    attempts = 4
    delay    = var.retry_delay
  }
}

# Creating the server on the manager's port attaches the port: the new VM gets
# the old private IP, which the agents know.
step "new_server" {
  action            = openstack.server_create
  provider          = openstack.admin
  name              = step.old_server.name
  image             = var.image
  flavor            = var.flavor
  ports             = [var.manager_port]
  key_name          = var.key_name
  availability_zone = var.pin_host == null ? null : "nova:${var.pin_host}"
  metadata          = { recovered_by = "runbook", run_id = run.id }
  timeout           = "10m"
  depends_on        = [step.terminate]
  postcondition {
    condition     = self.status == "ACTIVE"
    error_message = "The new manager VM is ${self.status}, not ACTIVE."
  }
}

step "attach_ip" {
  action      = openstack.floating_ip_associate
  floating_ip = var.floating_ip
  port        = var.manager_port
  depends_on  = [step.new_server]
  retry {
    attempts = 6
    delay    = var.retry_delay
    backoff  = 2
  }
}

# GET /api/v3.1/ok needs no authentication and answers 200 once the manager
# is healthy.
step "manager_up" {
  action     = core.wait
  url        = "${local.manager_url}/api/v3.1/ok"
  insecure   = var.insecure
  interval   = var.wait_interval
  timeout    = "10m"
  depends_on = [step.attach_ip]
}

step "upload" {
  action      = manager.snapshot_upload
  snapshot_id = var.snapshot_id
  path        = var.snapshot_path
  depends_on  = [step.manager_up]
  retry {
    attempts = 4
    delay    = var.retry_delay
  }
}

step "restore" {
  action               = manager.snapshot_restore
  snapshot_id          = var.snapshot_id
  force                = true
  restore_certificates = var.restore_certificates
  no_reboot            = var.no_reboot
  confirm              = "Restore snapshot ${var.snapshot_id} over the state of the new manager at ${var.floating_ip}"
  depends_on           = [step.upload]
  # The provider adopts a restore already running rather than start one
  # twice, so a retry after a 5xx is safe.
  retry {
    attempts = 4
    delay    = var.retry_delay
  }
  precondition {
    condition     = var.restore_certificates || !var.no_reboot
    error_message = "no_reboot = true needs restore_certificates = true; the manager refuses it otherwise."
  }
}

# GET /snapshot-status answers "running" until the restore is over; the
# manager may reboot meanwhile, hence the retries.
step "restore_done" {
  action     = manager.snapshot_status_wait
  timeout    = "15m"
  depends_on = [step.restore]
  retry {
    attempts = 3
    delay    = var.retry_delay
  }
}

step "install_agents" {
  for_each      = var.deployments
  when          = var.install_agents
  action        = manager.execution_start
  workflow_id   = "install_new_agents"
  deployment_id = each.key
  parameters    = { install_agent_timeout = 300, stop_old_agent = false }
  depends_on    = [step.restore_done]
  retry {
    attempts = 4
    delay    = var.retry_delay
  }
}

# Whatever happened, record whether the manager answers: 200 when healthy,
# 500 when it runs but is not.
finally "health" {
  action        = core.http
  url           = "${local.manager_url}/api/v3.1/ok"
  expect_status = [200, 500]
  insecure      = var.insecure
}
