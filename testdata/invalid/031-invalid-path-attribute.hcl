# ERROR: Invalid path attribute @ 3:11
output "dir" {
  value = path.modul
}
