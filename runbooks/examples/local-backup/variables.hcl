variable "workdir" {
  type        = string
  description = "Where archives, off-site copies and restore tests are written."
  default     = "./.runbook/backup-drill"
  validation {
    condition     = trimspace(var.workdir) != "" && trimsuffix(var.workdir, "/") != ""
    error_message = "workdir must name a directory other than /."
  }
}

variable "source_dir" {
  type        = string
  description = "Directory that holds the directories to back up; the bundled sample/ when unset."
  default     = null
}

variable "directories" {
  type        = set(string)
  description = "Directories under source_dir to back up, one archive (and one step item) each."
  default     = ["config", "data"]
  validation {
    condition     = length(var.directories) > 0
    error_message = "Name at least one directory to back up."
  }
  validation {
    condition     = length([for d in var.directories : d if !can(regex("^[A-Za-z0-9_][A-Za-z0-9._-]*$", d))]) == 0
    error_message = "Directory names are single path components of letters, digits, '.', '_' and '-'."
  }
}

variable "retention_days" {
  type        = number
  description = "Off-site copies of runs older than this many days are pruned."
  default     = 14
  validation {
    condition     = var.retention_days >= 1 && floor(var.retention_days) == var.retention_days
    error_message = "retention_days is a whole number of days, at least 1."
  }
}

variable "encrypt" {
  type        = bool
  description = "Also write an encrypted copy (.enc, needs openssl) of every off-site archive."
  default     = false
}

variable "passphrase" {
  type        = string
  description = "Passphrase for the encrypted copies; set it with RUNBOOK_VAR_passphrase."
  sensitive   = true
  default     = ""
  validation {
    condition     = !var.encrypt || strlen(var.passphrase) >= 12
    error_message = "With encrypt = true the passphrase must be at least 12 characters long."
  }
}
