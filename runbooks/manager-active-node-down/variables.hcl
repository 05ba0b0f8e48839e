variable "endpoint" {
  type        = string
  description = "A healthy manager of the cluster, or the cluster's address, such as https://10.0.0.5."
}

variable "username" {
  type        = string
  description = "Manager user (sys_admin)."
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

variable "failed_node" {
  type        = string
  description = "Hostname of the manager that failed; the first manager that cluster-status does not report OK when null."
  default     = null
}

variable "resolution" {
  type        = string
  description = "\"fix\": repair the failed manager in place; \"replace\": destroy it, install a new one and join it to the cluster."
  validation {
    condition     = contains(["fix", "replace"], var.resolution)
    error_message = "resolution is \"fix\" or \"replace\"."
  }
}

variable "failover_timeout" {
  type        = string
  description = "How long the cluster may take to elect another active manager and answer."
  default     = "10m"
}

variable "heal_timeout" {
  type        = string
  description = "How long the cluster may take to report OK once the node is fixed or has joined."
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
