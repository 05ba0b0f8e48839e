# ERROR: Invalid value for module input @ 5:14
# SKIP: D5 module inputs are never checked against the type of the module's variable
module "scale" {
  source   = "./modules/scale"
  replicas = "three"
}
