# --- Sites -------------------------------------------------------------------

variable "staging_dir" {
  type        = string
  description = "Directory on this host (the primary's master node) where the backup, the image tars and the configuration are gathered before the transfer."
  default     = "./.runbook/standby-staging"
}

variable "secondary_dir" {
  type        = string
  description = "Directory on the secondary that receives the files: a local or mounted path, or sftp://USER@HOST[:PORT]/PATH. It must exist."
}

variable "primary_docker_host" {
  type        = string
  description = "The primary's Docker engine (unix:// or tcp://); DOCKER_HOST or the local engine when null."
  default     = null
}

variable "secondary_docker_host" {
  type        = string
  description = "The secondary's Docker engine (tcp://HOST:2376 with TLS); DOCKER_HOST or the local engine when null."
  default     = null
}

variable "docker_ca_file" {
  type        = string
  description = "CA that signed the engines' certificates (TLS to tcp:// hosts)."
  default     = null
}

variable "docker_cert_file" {
  type        = string
  description = "Client certificate for the engines."
  default     = null
}

variable "docker_key_file" {
  type        = string
  description = "Key of docker_cert_file."
  default     = null
}

# --- Backup and restore ----------------------------------------------------

variable "backup_method" {
  type        = string
  description = "\"command\": backup_command writes the archive to $BACKUP_FILE and restore_command restores it; \"manager\": a Cloudify manager snapshot is taken on the primary manager and restored on the secondary one."
  default     = "command"
  validation {
    condition     = contains(["command", "manager"], var.backup_method)
    error_message = "backup_method is \"command\" or \"manager\"."
  }
}

variable "backup_command" {
  type        = list(string)
  description = "The primary's backup (codenvy backup); it must write the archive to $BACKUP_FILE."
  default     = []
}

variable "restore_command" {
  type        = list(string)
  description = "The secondary's restore (codenvy restore), run on this host with BACKUP_FILE set to the archive's path on the secondary and BACKUP_SHA256 to its digest; prefix it with ssh when the secondary is remote."
  default     = []
}

variable "primary_manager_endpoint" {
  type        = string
  description = "The primary Cloudify manager (backup_method = \"manager\")."
  default     = ""
}

variable "secondary_manager_endpoint" {
  type        = string
  description = "The secondary Cloudify manager (backup_method = \"manager\")."
  default     = ""
}

variable "manager_username" {
  type    = string
  default = "admin"
}

variable "manager_password" {
  type        = string
  description = "Password of manager_username on both managers; set it with RUNBOOK_VAR_manager_password."
  sensitive   = true
  default     = null
}

variable "manager_ca_file" {
  type    = string
  default = null
}

# --- Images and configuration ----------------------------------------------

variable "image_references" {
  type        = list(string)
  description = "Reference filters of the images to transfer (docker images --filter reference=...), such as \"codenvy/*\"; every image when empty (with image_labels)."
  default     = []
}

variable "image_labels" {
  type        = list(string)
  description = "Label filters of the images to transfer (\"key\" or \"key=value\")."
  default     = []
}

variable "config_file" {
  type        = string
  description = "The primary's configuration file."
  default     = "/etc/puppet/manifests/nodes/codenvy/codenvy.pp"
}

variable "secondary_config_file" {
  type        = string
  description = "The file the configuration replaces on the secondary: a path, or an sftp:// URL."
}

# --- Restart -----------------------------------------------------------------

variable "restart_command" {
  type        = list(string)
  description = "Restarts the secondary system (prefix it with ssh when the secondary is remote); a no-op by default."
  default     = ["true"]
}

variable "restart_containers" {
  type        = set(string)
  description = "Containers of the secondary restarted through its engine and waited for until healthy (or running, without a healthcheck)."
  default     = []
}

# --- SSH (sftp:// destinations) -----------------------------------------------

variable "ssh_private_key_file" {
  type    = string
  default = null
}

variable "ssh_known_hosts_file" {
  type        = string
  description = "known_hosts holding the secondary's host key; ~/.ssh/known_hosts when null."
  default     = null
}

variable "ssh_password" {
  type      = string
  sensitive = true
  default   = null
}

variable "ssh_insecure_ignore_host_key" {
  type        = bool
  description = "Do not check the secondary's host key (never in production)."
  default     = false
}

# --- Time limits and retries -------------------------------------------------

variable "backup_timeout" {
  type    = string
  default = "2h"
}

variable "restore_timeout" {
  type    = string
  default = "2h"
}

variable "image_timeout" {
  type    = string
  default = "30m"
}

variable "transfer_timeout" {
  type    = string
  default = "1h"
}

variable "restart_timeout" {
  type    = string
  default = "15m"
}

variable "retry_attempts" {
  type    = number
  default = 5
}

variable "retry_delay" {
  type    = string
  default = "5s"
}
