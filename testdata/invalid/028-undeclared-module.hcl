# ERROR: Reference to undeclared module @ 3:14
locals {
  snapshot = module.snapshot.id
}
