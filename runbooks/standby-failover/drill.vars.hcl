# A drill on this machine: the "secondary" is a container of the local
# Docker engine, its health and public URLs are given on the command line,
# and the re-route writes the new address to a file instead of DNS.
#
#   runbook apply -var-file drill.vars.hcl -var containers='["app"]' .
#
# Files ending in .vars.hcl are variable files, not part of the runbook.

public_name          = "codenvy.drill.example"
secondary_health_url = "http://127.0.0.1:8080/"
public_url           = "http://127.0.0.1:8080/"
secondary_address    = "127.0.0.1"
reroute_command      = ["sh", "-c", "echo \"$PUBLIC_NAME A $SECONDARY_ADDRESS\" > .runbook/drill-dns-record"]
poll_interval        = "100ms"
health_timeout       = "60s"
reroute_timeout      = "30s"
retry_delay          = "100ms"
