variable "destination" {
  type = string
}

variable "source" {
  type    = string
  default = "/etc/hostname"
}

step "copy" {
  action      = core.file_copy
  source      = var.source
  destination = var.destination
  timeout     = "1m"
}

output "sha256" {
  value = step.copy.sha256
}
