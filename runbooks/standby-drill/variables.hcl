variable "secondary_url" {
  type        = string
  description = "The secondary system's base URL, such as https://standby.example.com."
}

variable "username" {
  type        = string
  description = "A drill user of the secondary."
}

variable "password" {
  type        = string
  description = "Password of username; set it with RUNBOOK_VAR_password."
  sensitive   = true
}

variable "ca_file" {
  type    = string
  default = null
}

variable "health_path" {
  type    = string
  default = "/api/"
}

variable "login_path" {
  type    = string
  default = "/api/auth/login"
}

variable "token_field" {
  type        = string
  description = "The field of the login answer that holds the token (Codenvy: value)."
  default     = "value"
}

variable "auth_header" {
  type    = string
  default = "Authorization"
}

variable "auth_scheme" {
  type        = string
  description = "What precedes the token in auth_header, such as \"Bearer \"; Codenvy takes the bare token."
  default     = ""
}

variable "workspace_path" {
  type    = string
  default = "/api/workspace"
}

variable "workspace_config" {
  type        = any
  description = "The workspace to create (its name is set by the drill)."
  default = {
    defaultEnv   = "default"
    environments = { default = { machines = {}, recipe = { type = "dockerimage", content = "codenvy/ubuntu_jdk8" } } }
  }
}

variable "integration_checks" {
  type        = map(string)
  description = "Integrations to check, name => URL that answers 200 or 204 when it works (LDAP bridge, JIRA, ...)."
  default     = {}
}

variable "retry_attempts" {
  type    = number
  default = 3
}

variable "retry_delay" {
  type    = string
  default = "5s"
}
