package sdk

import (
	"fmt"
	"os"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/runbook-dev/runbook/plugins/grpcplugin"
)

// Serve runs p as a plugin: the runbook binary starts the provider's
// binary (runbook-provider-NAME), go-plugin checks the handshake and
// negotiates the protocol, and p answers over gRPC until the host stops
// it. Serve does not return while the host needs the provider.
//
// A binary run by hand, not by runbook, prints a note and exits.
// Log lines of the SDK and of go-plugin go to stderr as JSON, which
// go-plugin forwards to the host's log; what an action wants the operator
// to see goes through its Reporter.
func Serve(p *Provider) {
	if p.Logger == nil {
		p.Logger = hclog.New(&hclog.LoggerOptions{
			Name:       "provider." + p.Name,
			Level:      hclog.Trace, // the host filters
			Output:     os.Stderr,
			JSONFormat: true,
		})
	}
	if err := p.prepare(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  grpcplugin.Handshake,
		VersionedPlugins: grpcplugin.VersionedPlugins(p),
		GRPCServer:       grpcplugin.NewGRPCServer,
		Logger:           p.Logger,
	})
}
