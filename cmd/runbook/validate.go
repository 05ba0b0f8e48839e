package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/runbook"
)

func newValidateCommand(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "validate [PATH]",
		Short: "Check a runbook without contacting any system",
		Long: "Validate reads the runbook in PATH (a directory of *.hcl files, or one file; default .) " +
			"and its modules, and reports every problem it can find without variable values or a network: " +
			"blocks, references, providers, actions and their inputs, types, and dependency cycles.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ss := newSession(s)
			cfg, diags := ss.loader.Load(pathArg(args))
			if !diags.HasErrors() {
				h := providerHost(s, cfg, "", false)
				defer func() { _ = h.Close() }()
				diags = append(diags, h.Verify()...)
				diags = append(diags, runbook.ValidateAll(cfg, h.Schemas())...)
			}
			if err := ss.report(diags); err != nil {
				return err
			}
			fmt.Fprintln(s.out, "The runbook is valid.")
			return nil
		},
	}
}
