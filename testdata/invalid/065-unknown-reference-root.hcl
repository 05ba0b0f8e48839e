# ERROR: Unknown reference @ 3:11
output "backup" {
  value = foo.bar
}
