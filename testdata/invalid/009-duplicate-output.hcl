# ERROR: Duplicate output @ 3:8
output "ip" { value = "10.0.0.5" }
output "ip" { value = "10.0.0.6" }
