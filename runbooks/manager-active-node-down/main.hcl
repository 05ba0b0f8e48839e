# The active manager of a Cloudify manager cluster is down (seed 001,
# "Cloudify Backup and Restore Guide", Failure Recovery, "Active manager node
# down"):
#
#   1. another healthy manager of the cluster automatically becomes the
#      active manager
#   2. investigate the error
#   3. either fix the problem, or destroy the manager, install a manager and
#      join the cluster
#   Effect: healthy manager cluster.
#
# Step 1 is the cluster's own: the runbook waits until the cluster answers
# (through endpoint: its load balancer or a surviving manager) with a status
# other than Fail, and finds the failed node. Steps 2 and 3 are an operator's
# on the hosts; the runbook gives the exact commands and asks for approval at
# each. resolution chooses between fixing ("fix") and replacing ("replace")
# the node. Then it waits until the cluster status is OK.
#
#   runbook sim manager --listen 127.0.0.1:8080 --estate cluster.json &   # a drill
#   RUNBOOK_VAR_admin_password=admin runbook apply -var-file drill.vars.hcl .

runbook "manager-active-node-down" {
  version     = "1.0.0"
  description = "Recover from the loss of the active manager of a Cloudify manager cluster"
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
  failed      = var.failed_node != null ? [var.failed_node] : step.failover.failed_managers
  node        = length(local.failed) > 0 ? local.failed[0] : "(none)"
  node_record = try([for n in step.failover.nodes : n if n.service == "manager" && n.name == local.node][0], null)
  private_ip  = try(coalesce(local.node_record.private_ip), "<PRIVATE_IP>")
  public_ip   = try(coalesce(local.node_record.public_ip), local.private_ip)
  healthy     = [for m in step.failover.managers : m if !contains(local.failed, m)]
  healthy_ips = [
    for n in step.failover.nodes : n.private_ip
    if n.service == "manager" && !contains(local.failed, n.name) && n.private_ip != ""
  ]
  fix = var.resolution == "fix"
}

# 1. Another manager takes over: the cluster answers, Degraded or OK.
step "failover" {
  action   = manager.cluster_status
  wait_for = ["OK", "Degraded"]
  timeout  = var.failover_timeout
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

# The new active manager serves the API.
step "active" {
  action = manager.manager_status
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
  depends_on = [step.failover]
  postcondition {
    condition     = self.healthy
    error_message = "The manager behind ${var.endpoint} reports ${self.status}: point endpoint at a healthy manager of the cluster."
  }
}

# 2. Investigate.
step "investigate" {
  action     = core.approve
  message    = <<-EOT
    Investigate why ${local.node} (${local.private_ip}, ${local.public_ip}) failed. ${join(", ", local.healthy)} now serve the cluster. On ${local.node}, if it answers:
      sudo cfy_manager status
      sudo journalctl --since "-2h" -u cloudify-restservice -u cloudify-mgmtworker -u cloudify-amqp-postgres -u nginx
      sudo tail -n 200 /var/log/cloudify/rest/cloudify-rest-service.log /var/log/cloudify/mgmtworker/mgmtworker.log
      df -h / /var /opt; free -m
    Then approve. This runbook was started with resolution = "${var.resolution}": ${local.fix ? "the node will be fixed in place" : "the node will be destroyed and replaced"}.
  EOT
  depends_on = [step.active]
  precondition {
    condition     = length(local.failed) > 0
    error_message = "Every manager of the cluster is OK (status ${step.failover.status}): nothing to recover. Set failed_node to handle one anyway."
  }
}

# 3a. Fix the problem.
step "fix" {
  when       = local.fix
  action     = core.approve
  message    = <<-EOT
    Fix the problem on ${local.node}, then restart its services:
      sudo cfy_manager restart
    Approve once `sudo cfy_manager status` shows every service active.
  EOT
  depends_on = [step.investigate]
}

# 3b. Destroy, install, join.
step "destroy" {
  when       = !local.fix
  action     = core.approve
  message    = <<-EOT
    Destroy ${local.node}: stop what still runs (`sudo cfy_manager stop`), remove it from the cluster from a healthy manager (`cfy cluster remove ${local.node}`), then delete the VM and its disks (OpenStack: openstack server delete --wait ${local.node}). Keep its addresses (${local.private_ip}, ${local.public_ip}) if you can. Approve once the VM is gone.
  EOT
  depends_on = [step.investigate]
}

step "install" {
  when       = !local.fix
  action     = core.approve
  message    = <<-EOT
    Install a manager named ${local.node} with the same addresses: install the cloudify-manager-install RPM of the cluster's version, copy /etc/cloudify/config.yaml from ${try(local.healthy[0], "a healthy manager")}, set manager.hostname, manager.private_ip and manager.public_ip, keep the cluster's certificates (ssl_inputs), then:
      sudo cfy_manager install --private-ip ${local.private_ip} --public-ip ${local.public_ip}
    Approve once `sudo cfy_manager status` shows every service active.
  EOT
  depends_on = [step.destroy]
}

step "join" {
  when       = !local.fix
  action     = core.approve
  message    = <<-EOT
    Join ${local.node} to the cluster. Cloudify 5.0.5 and later join on install when config.yaml lists the cluster; otherwise, on ${local.node}:
      cfy cluster join --cluster-host-ip ${try(local.healthy_ips[0], "<HEALTHY_MANAGER_IP>")} --cluster-node-name ${local.node}
    Approve once `cfy cluster status` lists ${local.node}.
  EOT
  depends_on = [step.install]
}

# Effect: healthy manager cluster. One wait per branch: a step that depends
# on a skipped step is skipped too.
step "healthy_fixed" {
  when       = local.fix
  action     = manager.cluster_status
  wait_for   = ["OK"]
  timeout    = var.heal_timeout
  depends_on = [step.fix]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "healthy_replaced" {
  when       = !local.fix
  action     = manager.cluster_status
  wait_for   = ["OK"]
  timeout    = var.heal_timeout
  depends_on = [step.join]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

# Whatever happened, report the cluster as it is now.
finally "final_status" {
  action = manager.cluster_status
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}
