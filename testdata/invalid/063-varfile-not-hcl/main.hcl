# ERROR: Argument or block definition required @ varfiles/prod.yaml:1:1
# ERROR: Argument or block definition required @ varfiles/prod.yaml:2:1
# ERROR: No value for required variable @ 4:1
variable "replicas" { type = number }
