# ERROR: Module calls itself @ 3:12
module "again" {
  source = "./"
}
