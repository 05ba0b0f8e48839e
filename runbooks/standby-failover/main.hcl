# Failover to the standby site (seed 004, Codenvy "Disaster Recovery",
# Triggering Failover: "In the event of a failure of the primary, the
# secondary system can be powered on and traffic re-routed to it. Users
# accounts and workspaces will appear in the state they were in as of the
# last data transfer"; Setup Network Routing: "traffic will need to be
# re-routed from the primary to secondary systems").
#
#   1. an operator confirms the failover (gate: the data is that of the
#      last nightly transfer)
#   2. the primary is fenced (fence_command: power it off or cut it from the
#      network) so that it cannot come back and take traffic or writes
#   3. the secondary is powered on (power_on_command, for a cold standby)
#      and its containers are started and waited for until healthy
#   4. the secondary's own health URL must answer
#   5. an operator confirms the re-route (gate: DNS or load balancer change)
#   6. traffic is re-routed by reroute_command (a DNS update, a load
#      balancer API call), which gets SECONDARY_ADDRESS and PUBLIC_NAME
#   7. the public URL must answer, now from the secondary
#
#   runbook apply -var-file drill.vars.hcl .

runbook "standby-failover" {
  version     = "1.0.0"
  description = "Fail over from the primary site to the standby site: fence, power on, verify, re-route traffic"
  rto         = "1h"

  required_providers {
    docker = ">= 0.1.0"
  }
}

provider "docker" {
  alias     = "secondary"
  host      = var.secondary_docker_host
  ca_file   = var.docker_ca_file
  cert_file = var.docker_cert_file
  key_file  = var.docker_key_file
}

step "confirm_failover" {
  action  = core.approve
  message = "Fail over ${var.public_name} from the primary to the secondary site? The primary is fenced and users will find their accounts and workspaces as of the last nightly transfer."
}

# Irreversible for the duration of the incident: once fenced, the primary
# stays out until an operator brings it back on purpose.
step "fence_primary" {
  action     = core.exec
  command    = var.fence_command
  env        = var.command_env
  timeout    = var.command_timeout
  depends_on = [step.confirm_failover]
}

step "power_on" {
  action     = core.exec
  command    = var.power_on_command
  env        = var.command_env
  timeout    = var.command_timeout
  idempotent = true
  depends_on = [step.fence_primary]
}

step "start" {
  for_each   = var.containers
  action     = docker.container_start
  provider   = docker.secondary
  container  = each.key
  depends_on = [step.power_on]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

step "healthy" {
  for_each  = var.containers
  action    = docker.container_wait_healthy
  provider  = docker.secondary
  container = step.start[each.key].id
  timeout   = var.health_timeout
}

step "secondary_health" {
  action     = core.wait
  url        = var.secondary_health_url
  interval   = var.poll_interval
  timeout    = var.health_timeout
  depends_on = [step.healthy, step.power_on]
}

step "confirm_reroute" {
  action     = core.approve
  message    = "The secondary answers at ${var.secondary_health_url}. Re-route ${var.public_name} to ${var.secondary_address} with: ${join(" ", var.reroute_command)}?"
  depends_on = [step.secondary_health]
}

step "reroute" {
  action     = core.exec
  command    = var.reroute_command
  env        = merge(var.command_env, { SECONDARY_ADDRESS = var.secondary_address, PUBLIC_NAME = var.public_name })
  timeout    = var.command_timeout
  depends_on = [step.confirm_reroute]
  retry {
    attempts = var.retry_attempts
    delay    = var.retry_delay
  }
}

# DNS changes take the record's TTL to reach every resolver: wait for it.
step "public_health" {
  action     = core.wait
  url        = var.public_url
  interval   = var.poll_interval
  timeout    = var.reroute_timeout
  depends_on = [step.reroute]
}
