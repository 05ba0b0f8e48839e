# ERROR: Unsupported argument @ 4:3
variable "region" {
  type     = string
  nullable = false
}
