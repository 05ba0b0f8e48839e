# ERROR: Variables not allowed @ 6:11
# Fixed defect D4: this case guards against its return.
variable "alias" { default = "dr" }

provider "core" {
  alias = var.alias
}
