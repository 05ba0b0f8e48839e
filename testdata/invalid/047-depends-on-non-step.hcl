# ERROR: Invalid depends_on reference @ 7:17
variable "region" { default = "eu-1" }

step "backup" {
  action     = core.exec
  command    = ["backup"]
  depends_on = [var.region]
}
