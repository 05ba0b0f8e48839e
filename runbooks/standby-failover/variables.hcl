variable "public_name" {
  type        = string
  description = "The DNS name users reach the system by, such as codenvy.example.com."
}

variable "public_url" {
  type        = string
  description = "A URL through public_name that answers 2xx once traffic reaches the secondary."
}

variable "secondary_address" {
  type        = string
  description = "The secondary's address that public_name must point to (given to reroute_command as SECONDARY_ADDRESS)."
}

variable "secondary_health_url" {
  type        = string
  description = "A URL of the secondary itself that answers 2xx when it is up."
}

variable "reroute_command" {
  type        = list(string)
  description = "Re-routes traffic to the secondary: a DNS update (nsupdate, a cloud DNS CLI) or a load balancer change. It gets SECONDARY_ADDRESS and PUBLIC_NAME in its environment."
}

variable "fence_command" {
  type        = list(string)
  description = "Fences the primary (powers it off, or removes it from the load balancer); a no-op by default, for a primary that is already gone."
  default     = ["true"]
}

variable "power_on_command" {
  type        = list(string)
  description = "Powers on a cold standby; a no-op by default (hot standby)."
  default     = ["true"]
}

variable "command_env" {
  type        = map(string)
  description = "Environment of the fence, power-on and re-route commands (credentials of the DNS or cloud API, say)."
  default     = {}
}

variable "containers" {
  type        = set(string)
  description = "Containers of the secondary started through its engine and waited for until healthy."
  default     = []
}

variable "secondary_docker_host" {
  type        = string
  description = "The secondary's Docker engine; DOCKER_HOST or the local engine when null."
  default     = null
}

variable "docker_ca_file" {
  type    = string
  default = null
}

variable "docker_cert_file" {
  type    = string
  default = null
}

variable "docker_key_file" {
  type    = string
  default = null
}

variable "command_timeout" {
  type    = string
  default = "10m"
}

variable "health_timeout" {
  type    = string
  default = "15m"
}

variable "reroute_timeout" {
  type        = string
  description = "How long the public URL may take to answer after the re-route (the DNS record's TTL and more)."
  default     = "30m"
}

variable "poll_interval" {
  type    = string
  default = "5s"
}

variable "retry_attempts" {
  type    = number
  default = 3
}

variable "retry_delay" {
  type    = string
  default = "5s"
}
