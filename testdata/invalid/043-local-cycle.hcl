# ERROR: Cycle in local values @ 3:3
locals {
  a = local.b
  b = "${local.c}-x"
  c = local.a
}
