variable "endpoint" {
  type        = string
  description = "The manager's URL, such as https://10.0.0.5 (the new cluster's address or its active manager)."
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

variable "managers" {
  type        = list(string)
  description = "Hostnames (or addresses) of the cluster's managers, the first one first, for the instructions."
  validation {
    condition     = length(var.managers) > 0
    error_message = "Name at least one manager."
  }
}

variable "certs_dir" {
  type        = string
  description = "Directory on this machine where the saved /etc/cloudify/ssl files are kept."
}

variable "install_timeout" {
  type        = string
  description = "How long the new cluster may take to answer and report OK once formed."
  default     = "30m"
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
  default     = "latest-working"
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

variable "upload_timeout" {
  type    = string
  default = "1h"
}

variable "restore_timeout" {
  type        = string
  description = "How long the restore may take, restart included; also the restore workflow's timeout."
  default     = "1h"
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
