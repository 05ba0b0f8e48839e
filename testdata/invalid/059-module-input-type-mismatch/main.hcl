# ERROR: Invalid value for module input @ 5:14
# Fixed defect D5: this case guards against its return.
module "scale" {
  source   = "./modules/scale"
  replicas = "three"
}
