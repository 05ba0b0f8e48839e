# ERROR: No value for required variable @ 3:1
variable "region" { type = string }
variable "replicas" { type = number }
