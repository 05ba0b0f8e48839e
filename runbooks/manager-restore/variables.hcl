variable "endpoint" {
  type        = string
  description = "The manager's URL, such as https://10.0.0.5 (the active manager of a cluster)."
}

variable "username" {
  type        = string
  description = "Manager user (sys_admin: restores and maintenance mode are admin operations)."
  default     = "admin"
}

variable "admin_password" {
  type        = string
  description = "Password of username; set it with RUNBOOK_VAR_admin_password."
  sensitive   = true
  default     = null
}

variable "token" {
  type        = string
  description = "API token to use instead of username and password."
  sensitive   = true
  default     = null
}

variable "tenant" {
  type        = string
  description = "Tenant sent with every request."
  default     = "default_tenant"
}

variable "ca_file" {
  type        = string
  description = "CA bundle that signed the manager's certificate; the system roots when null."
  default     = null
}

variable "insecure" {
  type        = bool
  description = "Skip TLS verification (drills against a simulator only)."
  default     = false
}

variable "poll_interval" {
  type        = string
  description = "How often the provider polls the manager while it waits."
  default     = "2s"
}

variable "snapshot_path" {
  type        = string
  description = "The snapshot archive to restore (cfy snapshots download, or manager-snapshot-daily's backup_dir)."
}

variable "snapshot_sha256" {
  type        = string
  description = "Expected sha256 of the archive (first word of its .sha256 file); not checked when null."
  default     = null
}

variable "snapshot_id" {
  type        = string
  description = "ID the snapshot gets on the manager."
  default     = "restored-snapshot"
}

variable "force" {
  type        = bool
  description = "Restore over a manager that already has blueprints, deleting its data. A fresh manager needs no force."
  default     = false
}

variable "restore_certificates" {
  type        = bool
  description = "Restore the snapshot's certificates too (a manager replaced with new certificates)."
  default     = false
}

variable "no_reboot" {
  type        = bool
  description = "Do not reboot after restoring certificates; needs restore_certificates."
  default     = false
}

variable "install_new_agents" {
  type        = bool
  description = "Run install_new_agents on every deployment in deployments (after an upgrade, or when the agents must reconnect)."
  default     = true
}

variable "install_agents_parameters" {
  type        = any
  description = "Parameters of install_new_agents, such as { install_agent_timeout = 300, stop_old_agent = false }."
  default     = { install_agent_timeout = 300, stop_old_agent = false }
}

variable "deployments" {
  type        = set(string)
  description = "Deployments whose agents are reinstalled."
  default     = []
}

variable "update_plugins" {
  type        = bool
  description = "Update the plugins of every blueprint in blueprints (upload the new plugins first)."
  default     = true
}

variable "blueprints" {
  type        = set(string)
  description = "Blueprints whose deployments get their plugins updated."
  default     = []
}

variable "plugins_update_force" {
  type        = bool
  description = "Force the plugins updates."
  default     = false
}

variable "upload_timeout" {
  type    = string
  default = "1h"
}

variable "drain_timeout" {
  type        = string
  description = "How long running executions may take to drain before maintenance mode is active."
  default     = "30m"
}

variable "restore_timeout" {
  type        = string
  description = "How long the restore may take, restart included; also the restore workflow's timeout."
  default     = "1h"
}

variable "agents_timeout" {
  type        = string
  description = "How long one install_new_agents or plugins update may take."
  default     = "30m"
}

variable "retry_attempts" {
  type        = number
  description = "Attempts of each manager call (5xx answers and unreachable managers are retried)."
  default     = 5
}

variable "retry_delay" {
  type        = string
  description = "First wait between attempts; it doubles each time."
  default     = "10s"
}
