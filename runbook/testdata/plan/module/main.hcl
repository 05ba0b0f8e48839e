runbook "with-module" {
  version = "0.1.0"
}

variable "site" {
  type    = string
  default = "b"
}

step "prepare" {
  action  = core.exec
  command = ["mkdir", "-p", "/tmp/site-${var.site}"]
  timeout = "10s"
}

module "copy" {
  source      = "./m"
  destination = "/tmp/site-${var.site}/${step.prepare.exit_code}"
}

output "sha" {
  value = module.copy.sha256
}
