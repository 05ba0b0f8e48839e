# ERROR: Unsupported argument @ 4:3
output "ip" {
  value    = "10.0.0.5"
  sensitiv = true
}
