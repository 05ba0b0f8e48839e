# Instance HA: evacuate the instances of a failed compute host.
#
# Seed: shared/seeds/003 ("Recovery Workflows"). A host monitor reports a
# failed host; the recovery engine fences it, picks target hosts by the
# failover segment's recovery method (auto, auto_priority, reserved_host,
# rh_priority) and evacuates every instance through the Compute API,
# reporting a VM-moves table (VM, source, destination, status, start, end,
# message) and an overall status: finished, error or failed.
#
# Here the failed host, the segment and the method are variables; the
# moves table is the host_evacuate step's vm_moves output, shown by
# `runbook runs show` and in the run's outputs.

runbook "instance-ha-evacuate" {
  version     = "1.0.0"
  description = "Fence a failed compute host and evacuate its instances by the segment's recovery method"
  rto         = "30m"

  required_providers {
    openstack = ">= 0.1.0"
  }
}

provider "openstack" {
  auth_url            = var.auth_url
  username            = var.username
  password            = var.admin_password
  project_name        = var.project_name
  user_domain_name    = var.domain
  project_domain_name = var.domain
  region              = var.region
  insecure            = var.insecure
  poll_interval       = var.poll_interval
}

# Where the failed host stands now: its nova-compute service and the
# capacity the targets have before the recovery.
step "services" {
  action = openstack.compute_service_list
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "capacity" {
  action = openstack.hypervisor_list
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

# Nova must not restart an instance elsewhere while the failed host may
# still run it: the disks would be written from two places.
step "fenced" {
  action     = core.approve
  when       = var.require_fencing_approval
  depends_on = [step.services]
  message    = "Make sure ${var.failed_host} is powered off or isolated (IPMI power off, or its storage and network ports shut) before its instances are evacuated. Approve only once it is."
}

step "evacuate" {
  action          = openstack.host_evacuate
  failed_host     = var.failed_host
  recovery_method = var.recovery_method
  hosts           = var.segment_hosts
  parallelism     = var.parallelism
  vm_timeout      = var.vm_timeout
  depends_on      = [step.fenced, step.capacity]
  confirm         = "Evacuate every instance of ${var.failed_host} (${var.recovery_method})?"
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

# Each recovered instance is ACTIVE on another host.
step "verify" {
  for_each = toset([for m in step.evacuate.vm_moves : m.server if m.status == "succeeded"])
  action   = openstack.server_get
  server   = each.key
  postcondition {
    condition     = self.status == "ACTIVE" && self.host != var.failed_host
    error_message = "The instance is not ACTIVE on a new host."
  }
}
