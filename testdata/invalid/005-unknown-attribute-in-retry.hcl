# ERROR: Unsupported argument @ 7:5
step "ping" {
  action  = core.exec
  command = ["ping", "-c1", "10.0.0.5"]
  retry {
    attempts = 3
    jitter   = "1s"
  }
}
