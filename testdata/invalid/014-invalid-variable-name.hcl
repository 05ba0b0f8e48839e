# ERROR: Invalid name @ 2:10
variable "admin password" {
  type = string
}
