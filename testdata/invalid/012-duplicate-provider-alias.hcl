# ERROR: Duplicate provider configuration @ 6:1
provider "core" {
  alias = "local"
}

provider "core" {
  alias = "local"
}
