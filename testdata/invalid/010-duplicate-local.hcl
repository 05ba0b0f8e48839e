# ERROR: Duplicate local value @ 8:3
locals {
  region = "eu-1"
}

locals {
  zone   = "a"
  region = "eu-2"
}
