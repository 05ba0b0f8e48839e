// Command runbook-provider-manager serves the Cloudify Manager provider
// (package manager) as a runbook plugin. Only runbook starts it.
package main

import (
	"github.com/runbook-dev/runbook/plugins/manager"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

func main() {
	sdk.Serve(manager.New())
}
