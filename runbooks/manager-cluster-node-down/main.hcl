# One manager of a Cloudify manager cluster is down (seed 001, "Cloudify
# Backup and Restore Guide", Failure Recovery, "One manager cluster node
# down"):
#
#   1. remove the manager from the cluster
#   2. destroy the manager
#   3. bootstrap a fresh manager
#   4. join the existing cluster
#   Effect: healthy manager cluster.
#
# The runbook finds the failed node in GET /api/v3.1/cluster-status (or takes
# failed_node), checks that the cluster still has a working manager, walks
# the operator through the four steps, which only a human can do on the
# hosts, with the exact commands, and then waits until the cluster status is
# OK again. The endpoint is a healthy manager of the cluster (or its load
# balancer), never the failed node.
#
#   runbook sim manager --listen 127.0.0.1:8080 --estate cluster.json &   # a drill
#   RUNBOOK_VAR_admin_password=admin runbook apply -var-file drill.vars.hcl .

runbook "manager-cluster-node-down" {
  version     = "1.0.0"
  description = "Replace a failed node of a Cloudify manager cluster"
  rto         = "2h"

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
  failed = var.failed_node != null ? [var.failed_node] : step.cluster.failed_managers
  node   = length(local.failed) > 0 ? local.failed[0] : "(none)"
  # The failed node's addresses, as the cluster last reported them.
  addresses = join(", ", distinct(compact(flatten([
    for n in step.cluster.nodes : [n.private_ip, n.public_ip] if n.name == local.node
  ]))))
  node_record = try([for n in step.cluster.nodes : n if n.service == "manager" && n.name == local.node][0], null)
  private_ip  = try(coalesce(local.node_record.private_ip), "<PRIVATE_IP>")
  public_ip   = try(coalesce(local.node_record.public_ip), local.private_ip)
  healthy     = [for m in step.cluster.managers : m if !contains(local.failed, m)]
  healthy_ips = [
    for n in step.cluster.nodes : n.private_ip
    if n.service == "manager" && !contains(local.failed, n.name) && n.private_ip != ""
  ]
  version = try(one(distinct([for n in step.cluster.nodes : n.version if n.service == "manager" && n.name != local.node && n.version != ""])), "the cluster's version")
}

step "cluster" {
  action = manager.cluster_status
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "remove" {
  action  = core.approve
  message = <<-EOT
    Remove ${local.node} (${local.addresses}) from the cluster. On a healthy manager (${join(", ", local.healthy)}), run:
      cfy cluster remove ${local.node}
    (Cloudify 4.x HA: cfy cluster nodes remove ${local.node}). Check with `cfy cluster status` that ${local.node} is no longer listed, then approve.
  EOT
  precondition {
    condition     = length(local.failed) > 0
    error_message = "No manager of the cluster is failing (cluster status ${step.cluster.status}): nothing to replace. Set failed_node to replace one anyway."
  }
  precondition {
    condition     = length(local.healthy) > 0 && step.cluster.status != "Fail"
    error_message = "No manager of the cluster is healthy (cluster status ${step.cluster.status}): use manager-cluster-whole-down."
  }
}

step "destroy" {
  action     = core.approve
  message    = <<-EOT
    Destroy ${local.node}: if it still runs, stop its services with `sudo cfy_manager stop`, then delete the VM and its disks in the cloud (OpenStack: openstack server delete --wait ${local.node}). Keep its addresses (${local.addresses}) if you can: the agents and the other managers know them. Approve once the VM is gone.
  EOT
  depends_on = [step.remove]
}

step "bootstrap" {
  action     = core.approve
  message    = <<-EOT
    Bootstrap a fresh manager named ${local.node}: create a VM with the same addresses (${local.addresses}), install the cloudify-manager-install RPM of ${local.version}, copy /etc/cloudify/config.yaml from a healthy manager (${join(", ", local.healthy)}), set manager.hostname, manager.private_ip and manager.public_ip to the new node's, keep the cluster's certificates (ssl_inputs, ca_cert_path), then run:
      sudo cfy_manager install --private-ip ${local.private_ip} --public-ip ${local.public_ip}
    Approve once `cfy_manager status` shows every service active.
  EOT
  depends_on = [step.destroy]
}

step "join" {
  action     = core.approve
  message    = <<-EOT
    Join ${local.node} to the existing cluster. Cloudify 5.0.5 and later join on install when config.yaml lists the cluster (services_to_install, networks, the other managers' addresses); otherwise, on ${local.node}:
      cfy cluster join --cluster-host-ip ${try(local.healthy_ips[0], "<HEALTHY_MANAGER_IP>")} --cluster-node-name ${local.node}
    Approve once `cfy cluster status` lists ${local.node}.
  EOT
  depends_on = [step.bootstrap]
}

# Effect: healthy manager cluster.
step "healthy" {
  action     = manager.cluster_status
  wait_for   = ["OK"]
  timeout    = var.heal_timeout
  depends_on = [step.join]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
  postcondition {
    condition     = contains(self.managers, local.node)
    error_message = "The cluster is OK but ${local.node} is not one of its managers: join it (cfy cluster status)."
  }
}
