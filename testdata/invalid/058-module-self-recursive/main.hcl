# ERROR: Modules nested too deeply @ 3:12
module "again" {
  source = "./"
}
