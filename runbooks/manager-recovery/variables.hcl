variable "cloud" {
  type        = string
  description = "clouds.yaml entry of the project that owns the manager."
  default     = "prod"
}

variable "admin_cloud" {
  type        = string
  description = "clouds.yaml entry with admin rights, used to create the new server."
  default     = "prod-admin"
}

variable "manager_server" {
  type        = string
  description = "Name or ID of the crashed manager server."
}

variable "manager_port" {
  type        = string
  description = "ID of the Neutron port that holds the manager's private IP."
  validation {
    condition     = can(regex("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", var.manager_port))
    error_message = "manager_port is a port ID (a UUID), not a name."
  }
}

variable "floating_ip" {
  type        = string
  description = "The manager's public address."
  validation {
    condition     = can(regex("^[0-9]{1,3}(\\.[0-9]{1,3}){3}$", var.floating_ip))
    error_message = "floating_ip is an IPv4 address such as 185.98.149.170."
  }
}

variable "image" {
  type        = string
  description = "Image of the new manager VM."
}

variable "flavor" {
  type        = string
  description = "Flavor of the new manager VM."
  default     = "m1.large"
}

variable "key_name" {
  type        = string
  description = "Nova keypair for the new VM; none when null."
  default     = null
}

variable "pin_host" {
  type        = string
  description = "Hypervisor to place the new VM on; the scheduler chooses when null."
  default     = null
}

variable "snapshot_id" {
  type        = string
  description = "ID the snapshot gets on the new manager."
  default     = "restored-snapshot"
}

variable "snapshot_path" {
  type        = string
  description = "Local path of the snapshot archive (cfy snapshots download)."
}

variable "restore_certificates" {
  type    = bool
  default = false
}

variable "no_reboot" {
  type    = bool
  default = false
}

variable "manager_username" {
  type    = string
  default = "admin"
}

variable "admin_password" {
  type        = string
  description = "Password of manager_username; set it with RUNBOOK_VAR_admin_password."
  sensitive   = true
}

variable "tenant" {
  type    = string
  default = "default_tenant"
}

variable "ca_file" {
  type        = string
  description = "CA bundle that signed the manager's certificate."
  default     = null
}

variable "insecure" {
  type        = bool
  description = "Skip TLS verification of the manager (drills against a simulator only)."
  default     = false
}

variable "install_agents" {
  type        = bool
  description = "Run install_new_agents on every deployment after the restore."
  default     = true
}

variable "deployments" {
  type        = set(string)
  description = "Deployments whose agents are reinstalled."
  default     = []
}

variable "manager_endpoint" {
  type        = string
  description = "URL of the new manager's REST API; empty means https://<floating_ip>. A drill sets it to `runbook sim manager`'s URL."
  default     = ""
}

variable "auth_url" {
  type        = string
  description = "Keystone v3 URL. When set, the cloud is reached with username, os_password and project_name instead of the clouds.yaml entries cloud and admin_cloud."
  default     = null
}

variable "username" {
  type        = string
  description = "OpenStack user (with auth_url); must be an admin to pin the new VM to pin_host."
  default     = "admin"
}

variable "os_password" {
  type        = string
  description = "Password of username (with auth_url); admin_password when null. Set it with RUNBOOK_VAR_os_password."
  default     = null
  sensitive   = true
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

variable "os_insecure" {
  type        = bool
  description = "Skip TLS verification of the OpenStack endpoints (drills only)."
  default     = false
}

variable "poll_interval" {
  type        = string
  description = "How often the providers poll the cloud and the manager while waiting."
  default     = "2s"
}

variable "wait_interval" {
  type        = string
  description = "How often manager_up asks the new manager whether it is up."
  default     = "10s"
}

variable "retry_delay" {
  type        = string
  default     = "5s"
  description = "First pause before retrying a step that failed on a transient error (it doubles up to each step's cap)."
}
