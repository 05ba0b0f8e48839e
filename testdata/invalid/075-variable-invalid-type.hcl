# ERROR: Invalid type specification @ 3:10
variable "region" {
  type = strng
}
