# ERROR: Reference to undeclared variable @ 5:11
variable "region" { type = string }

output "region" {
  value = var.regoin
}
