variable "failed_host" {
  type        = string
  description = "The failed compute host, as Nova names its nova-compute service host."
}

variable "recovery_method" {
  type        = string
  default     = "auto"
  description = "The segment's recovery method: auto, auto_priority, reserved_host or rh_priority."
  validation {
    condition     = contains(["auto", "auto_priority", "reserved_host", "rh_priority"], var.recovery_method)
    error_message = "recovery_method is auto, auto_priority, reserved_host or rh_priority."
  }
}

variable "segment_hosts" {
  type = list(object({
    name     = string
    reserved = optional(bool, false)
    priority = optional(number)
  }))
  default     = []
  description = "The failover segment's hosts; empty means every other compute host, none reserved."
}

variable "parallelism" {
  type        = number
  default     = 10
  description = "How many evacuations run at once."
}

variable "vm_timeout" {
  type        = string
  default     = "10m"
  description = "How long one evacuation may take."
}

variable "require_fencing_approval" {
  type        = bool
  default     = true
  description = "Ask an operator to confirm the failed host is fenced before evacuating."
}

variable "auth_url" {
  type        = string
  description = "Keystone v3 URL."
}

variable "username" {
  type    = string
  default = "admin"
}

variable "admin_password" {
  type      = string
  sensitive = true
}

variable "project_name" {
  type    = string
  default = "admin"
}

variable "domain" {
  type    = string
  default = "Default"
}

variable "region" {
  type    = string
  default = ""
}

variable "insecure" {
  type    = bool
  default = false
}

variable "poll_interval" {
  type    = string
  default = "2s"
}

variable "retry_attempts" {
  type    = number
  default = 4
}

variable "retry_delay" {
  type    = string
  default = "2s"
}
