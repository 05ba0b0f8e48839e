# ERROR: Invalid value for variable @ varfiles/prod.hcl:1:12
variable "replicas" { type = number }
