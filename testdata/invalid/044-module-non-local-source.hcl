# ERROR: Unsupported module source @ 3:12
module "restore" {
  source = "git::https://example.com/runbooks.git//restore?ref=v1.2.0"
}
