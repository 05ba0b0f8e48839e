package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/ui"
	"github.com/runbook-dev/runbook/runbook"
)

func newGraphCommand(s *streams) *cobra.Command {
	var format string
	cmd := &cobra.Command{
		Use:   "graph [PATH]",
		Short: "Print the step graph as DOT or Mermaid",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if format != "dot" && format != "mermaid" {
				return fmt.Errorf("unknown graph format %q: use dot or mermaid", format)
			}
			ss := newSession(s)
			cfg, diags := ss.loader.Load(pathArg(args))
			if diags.HasErrors() {
				return ss.report(diags)
			}
			g, gdiags := runbook.BuildGraph(cfg)
			if err := ss.report(gdiags); err != nil {
				return err
			}
			if format == "mermaid" {
				ui.GraphMermaid(s.out, g)
			} else {
				ui.GraphDOT(s.out, g)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&format, "format", "dot", "output format: dot or mermaid")
	return cmd
}
