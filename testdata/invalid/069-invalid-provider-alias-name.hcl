# ERROR: Invalid provider alias @ 3:11
provider "core" {
  alias = "far away"
}
