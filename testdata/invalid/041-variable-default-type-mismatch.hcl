# ERROR: Invalid default value for variable @ 4:13
variable "replicas" {
  type    = number
  default = "three"
}
