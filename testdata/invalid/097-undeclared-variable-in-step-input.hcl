# ERROR: Reference to undeclared variable @ 6:24
variable "region" { type = string }

step "backup" {
  action  = core.exec
  command = ["backup", var.regoin]
}
