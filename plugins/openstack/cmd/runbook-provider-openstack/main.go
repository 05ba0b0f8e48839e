// Command runbook-provider-openstack serves the openstack provider to
// runbook over go-plugin: Nova, Neutron and Keystone v3 through
// gophercloud, and host_evacuate, the instance-HA recovery of a failed
// compute host.
package main

import (
	"github.com/runbook-dev/runbook/plugins/openstack"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

func main() {
	sdk.Serve(openstack.New())
}
