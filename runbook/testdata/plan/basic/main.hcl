runbook "hello" {
  version = "1.0.0"
  description = "Say hello"
  rto = "1m"
}
variable "name" {
  type = string
  default = "world"
}
variable "pw" {
  type = string
  default = "s3cret"
  sensitive = true
}
locals { greeting = "hello ${var.name}" }
step "greet" {
  action = core.exec
  command = ["echo", local.greeting]
  timeout = "30s"
  retry {
    attempts = 3
    delay = "1s"
  }
}
step "copy" {
  action = core.file_copy
  source = "/etc/hostname"
  destination = "/tmp/x-${step.greet.stdout}"
  timeout = "20s"
}
step "each" {
  for_each = toset(["a", "b"])
  action = core.exec
  command = ["echo", each.key, var.pw]
  env = { PW = var.pw }
}
finally "bye" {
  action = core.exec
  command = ["echo", "bye"]
}
output "sum" { value = step.copy.sha256 }
