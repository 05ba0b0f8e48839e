# ERROR: Reference to undeclared variable @ 10:12
# WARNING: Missing runbook block @ 1:1
# WARNING: Provider schema not available @ 4:1
provider "openstack" {
  cloud = "prod"
}

step "server" {
  action = openstack.server_get
  server = var.server_name
  postcondition {
    condition     = self.status == "ACTIVE"
    error_message = "The server is not active."
  }
}
