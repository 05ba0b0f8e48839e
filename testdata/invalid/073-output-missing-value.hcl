# ERROR: Missing required argument @ 2:13
output "ip" {
  description = "The manager's IP"
}
