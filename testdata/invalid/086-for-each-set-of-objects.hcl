# ERROR: Invalid for_each argument @ 3:14
step "restart" {
  for_each = toset([{ name = "api" }])
  action   = core.exec
  command  = ["restart"]
}
