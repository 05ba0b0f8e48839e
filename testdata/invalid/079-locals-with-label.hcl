# ERROR: Extraneous label for locals @ 2:8
locals "net" {
  region = "eu-1"
}
