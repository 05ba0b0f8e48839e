# ERROR: Duplicate variable @ 4:10
variable "region" { type = string }

variable "region" { default = "eu-1" }
