# ERROR: Duplicate provider configuration @ 4:1
provider "core" {}

provider "core" {}
