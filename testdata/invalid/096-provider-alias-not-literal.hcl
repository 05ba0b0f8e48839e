# ERROR: Variables not allowed @ 6:11
# SKIP: D4 a non-literal value in a literal-only attribute gives extra 'Unsuitable value type' (and 'Invalid duration' for rto) errors
variable "alias" { default = "dr" }

provider "core" {
  alias = var.alias
}
