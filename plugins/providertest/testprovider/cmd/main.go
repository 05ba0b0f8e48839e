// Command runbook-provider-test serves the conformance suite's test
// provider as a plugin.
package main

import (
	"github.com/runbook-dev/runbook/plugins/providertest/testprovider"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

func main() { sdk.Serve(testprovider.New()) }
