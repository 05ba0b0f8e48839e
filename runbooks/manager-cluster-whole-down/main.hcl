# The whole Cloudify manager cluster is down or working wrong (seed 001,
# "Cloudify Backup and Restore Guide", Failure Recovery, "Whole cluster down
# or working wrong"):
#
#   1. save the /etc/cloudify/ssl/* files
#   2. tear down the managers
#   3. install fresh managers with the existing certificates in
#      /etc/cloudify/config.yaml
#   4. create and join the cluster
#   5. apply the latest working snapshot on the active manager
#
# Steps 1 to 4 are an operator's on the hosts: the runbook gives the exact
# commands and asks for approval at each, and checks what it can (the saved
# CA certificate is on this machine; the new cluster answers and is OK).
# Step 5 is seed 002's restore: upload the archive, maintenance mode on,
# restore, wait for the snapshot-restore status, maintenance mode off (also
# in a finally step, whatever happened). Scheduled executions that the
# restore found overdue (marked FAILED, not run) are in the output
# overdue_executions.
#
#   runbook sim manager --listen 127.0.0.1:8080 &      # a drill against the simulator
#   RUNBOOK_VAR_admin_password=admin runbook apply -var-file drill.vars.hcl \
#     -var snapshot_path=SNAPSHOT.zip -var certs_dir=SAVED_SSL_DIR .

runbook "manager-cluster-whole-down" {
  version     = "1.0.0"
  description = "Rebuild a failed Cloudify manager cluster with its certificates and restore its latest snapshot"
  rto         = "4h"

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
  certs_dir = abspath(var.certs_dir)
  nodes     = join(", ", var.managers)
  first     = var.managers[0]
  # Where the saved certificates go on each new manager.
  ssl_dir = "/etc/cloudify/ssl-saved"
}

# 1. Save the certificates.
step "save_certs" {
  action  = core.approve
  message = <<-EOT
    Save the certificates of the cluster (${local.nodes}). On one manager that still boots:
      sudo tar -czf /tmp/cloudify-ssl.tgz -C /etc/cloudify/ssl .
    then on this machine:
      mkdir -p ${local.certs_dir}
      scp ${local.first}:/tmp/cloudify-ssl.tgz ${local.certs_dir}/ && tar -xzf ${local.certs_dir}/cloudify-ssl.tgz -C ${local.certs_dir}
    If no manager boots, extract the copy of /etc/cloudify/ssl from your backups into ${local.certs_dir}. Approve once the .pem files are there.
  EOT
}

# The CA certificate the agents trust is among them.
step "certs" {
  action     = core.exec
  command    = ["find", local.certs_dir, "-maxdepth", "1", "-type", "f", "-name", "*.pem", "-exec", "sha256sum", "--", "{}", "+"]
  idempotent = true
  depends_on = [step.save_certs]
  postcondition {
    condition     = strcontains(self.stdout, "/cloudify_internal_ca_cert.pem")
    error_message = "${local.certs_dir} has no cloudify_internal_ca_cert.pem: without the old CA the agents will not trust the new managers. Save /etc/cloudify/ssl again."
  }
}

# 2. Tear down.
step "teardown" {
  action     = core.approve
  message    = <<-EOT
    Tear down every manager of the cluster (${local.nodes}). On each one that still runs:
      sudo cfy_manager remove --force
    then delete the VMs and their disks in the cloud (OpenStack: openstack server delete --wait NAME). Keep their addresses if you can: the agents know them. Approve once they are gone.
  EOT
  depends_on = [step.certs]
}

# 3. Fresh managers with the existing certificates.
step "install" {
  action     = core.approve
  message    = <<-EOT
    Install fresh managers (${local.nodes}) with the existing certificates. On each new VM: install the cloudify-manager-install RPM of the old cluster's version, copy ${local.certs_dir}/*.pem to ${local.ssl_dir}/ (sudo install -d -m 700 ${local.ssl_dir}), and add to /etc/cloudify/config.yaml:
      ssl_inputs:
        internal_cert_path: ${local.ssl_dir}/cloudify_internal_cert.pem
        internal_key_path: ${local.ssl_dir}/cloudify_internal_key.pem
        ca_cert_path: ${local.ssl_dir}/cloudify_internal_ca_cert.pem
        ca_key_path: ${local.ssl_dir}/cloudify_internal_ca_key.pem
        external_cert_path: ${local.ssl_dir}/cloudify_external_cert.pem
        external_key_path: ${local.ssl_dir}/cloudify_external_key.pem
    with manager.private_ip, manager.public_ip and the admin password of the old cluster. Do not run the installer yet on the managers that join (next step). Approve once config.yaml is ready on every node.
  EOT
  depends_on = [step.teardown]
}

# 4. Create and join the cluster.
step "form_cluster" {
  action     = core.approve
  message    = <<-EOT
    Create the cluster and join the managers. On ${local.first}, then on each of the others in turn:
      sudo cfy_manager install
    Cloudify 5.0.5 and later form the cluster on install from config.yaml (the same cluster settings on every node). Cloudify 4.x: on ${local.first} `cfy cluster start --cluster-node-name ${local.first}`, then on each other node `cfy cluster join --cluster-host-ip <IP OF ${local.first}> --cluster-node-name NODE`. Point ${var.endpoint} at the cluster, and approve once `cfy cluster status` lists ${local.nodes}.
  EOT
  depends_on = [step.install]
}

# The new cluster answers (GET /api/v3.1/ok needs no credentials) and is OK.
step "manager_up" {
  action     = core.wait
  url        = "${trimsuffix(var.endpoint, "/")}/api/v3.1/ok"
  insecure   = var.insecure
  interval   = var.poll_interval
  timeout    = var.install_timeout
  depends_on = [step.form_cluster]
}

step "cluster_ok" {
  action     = manager.cluster_status
  wait_for   = ["OK"]
  timeout    = var.install_timeout
  depends_on = [step.manager_up]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

# 5. The latest working snapshot, on the active manager.
step "archive" {
  action = core.checksum
  path   = var.snapshot_path
  sha256 = var.snapshot_sha256
}

step "upload" {
  action      = manager.snapshot_upload
  snapshot_id = var.snapshot_id
  path        = var.snapshot_path
  timeout     = var.upload_timeout
  depends_on  = [step.archive, step.cluster_ok]
  retry {
    attempts  = var.retry_attempts
    delay     = var.retry_delay
    max_delay = "2m"
  }
}

step "maintenance_on" {
  action     = manager.maintenance_activate
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
  timeout              = var.restore_timeout
  confirm              = "Restore snapshot ${var.snapshot_id} on the new cluster at ${var.endpoint}"
  depends_on           = [step.maintenance_on]
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

step "maintenance_off" {
  action     = manager.maintenance_deactivate
  depends_on = [step.restore_done]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "healthy" {
  action     = manager.cluster_status
  wait_for   = ["OK"]
  timeout    = var.install_timeout
  depends_on = [step.maintenance_off]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

finally "leave_maintenance" {
  action = manager.maintenance_deactivate
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}
