# ERROR: Invalid reference in variable validation @ 9:37
locals {
  max = 5
}

variable "replicas" {
  type = number
  validation {
    condition     = var.replicas <= local.max
    error_message = "Too many replicas."
  }
}
