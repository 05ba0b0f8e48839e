# ERROR: Reference to a finally step @ 9:24
finally "cleanup" {
  action  = core.exec
  command = ["cleanup"]
}

step "report" {
  action  = core.exec
  command = ["report", step.cleanup.stdout]
}
