# ERROR: Unsupported block type @ 4:1
runbook "r" { version = "1.0.0" }

resource "server" "manager" {
  name = "manager"
}
