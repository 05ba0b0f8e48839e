variable "endpoint" {
  type        = string
  description = "The manager's URL, such as https://10.0.0.5 (the active manager or the cluster's address)."
}

variable "username" {
  type        = string
  description = "Manager user (sys_admin: snapshots are an admin operation)."
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

variable "snapshot_prefix" {
  type        = string
  description = "Prefix of the snapshots this runbook creates and prunes; snapshots without it are never deleted."
  default     = "daily-"
  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]*$", var.snapshot_prefix))
    error_message = "snapshot_prefix is lower-case letters, digits, _ and -, such as \"daily-\"."
  }
}

variable "backup_dir" {
  type        = string
  description = "Directory that keeps the downloaded archives (created if missing)."
}

variable "keep_local" {
  type        = number
  description = "How many archives of this runbook to keep in backup_dir, the new one included."
  default     = 7
  validation {
    condition     = var.keep_local >= 1
    error_message = "keep_local must be at least 1: the new archive is always kept."
  }
}

variable "keep_remote" {
  type        = number
  description = "How many snapshots of this runbook to keep on the manager, the new one included."
  default     = 3
  validation {
    condition     = var.keep_remote >= 1
    error_message = "keep_remote must be at least 1: the new snapshot is always kept."
  }
}

variable "include_logs" {
  type        = bool
  description = "Include the manager's logs in the snapshot."
  default     = true
}

variable "include_events" {
  type        = bool
  description = "Include the events in the snapshot."
  default     = true
}

variable "create_timeout" {
  type        = string
  description = "How long one attempt to create the snapshot may take."
  default     = "1h"
}

variable "download_timeout" {
  type        = string
  description = "How long one attempt to download the archive may take."
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
