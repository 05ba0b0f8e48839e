# ERROR: Missing required argument @ 4:14
variable "replicas" {
  type = number
  validation {
    condition = var.replicas > 0
  }
}
