// Command runbook-provider-docker serves the Docker Engine provider
// (package docker) as a runbook plugin. Only runbook starts it.
package main

import (
	"github.com/runbook-dev/runbook/plugins/docker"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

func main() {
	sdk.Serve(docker.New())
}
