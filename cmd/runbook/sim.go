package main

import (
	"github.com/spf13/cobra"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	simopenstack "github.com/runbook-dev/runbook/internal/sim/openstack"
)

// newSimCommand serves the simulators used by tests, `make demo` and DR
// drills. Each prints its base URL as the first line of stdout and serves
// until interrupted; docs/simulators.md describes them.
func newSimCommand(s *streams) *cobra.Command {
	cmd := &cobra.Command{Use: "sim", Short: "Serve a simulator of a system runbooks drive (for drills and tests)"}
	cmd.AddCommand(&cobra.Command{
		Use:                "manager [--listen ADDR] [--estate FILE] [--generation current|5.0]",
		Short:              "Simulate a Cloudify Manager (REST API v3.1)",
		DisableFlagParsing: true, // the simulator parses its own flags
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := simmanager.Main(args, s.out); code != 0 {
				return exitCode(code)
			}
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:                "openstack [--listen ADDR] [--estate FILE]",
		Short:              "Simulate an OpenStack cloud (Keystone v3, Nova, Neutron)",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := simopenstack.Main(args, s.out); code != 0 {
				return exitCode(code)
			}
			return nil
		},
	})
	return cmd
}
