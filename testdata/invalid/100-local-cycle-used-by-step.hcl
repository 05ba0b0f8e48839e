# ERROR: Cycle in local values @ 3:3
locals {
  a = "${local.b}-x"
  b = "${local.a}-y"
}

step "echo" {
  action  = core.exec
  command = ["echo", local.a]
  when    = local.b != ""
}
