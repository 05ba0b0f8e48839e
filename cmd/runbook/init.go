package main

import (
	"fmt"
	"slices"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/plugins/host"
)

func newInitCommand(s *streams) *cobra.Command {
	return &cobra.Command{
		Use:   "init [PATH]",
		Short: "Find the provider plugins a runbook uses and record them in .runbook.lock.hcl",
		Long: "Init finds a plugin for every provider the runbook in PATH (default .) and its modules use: in " +
			".runbook/plugins beside the runbook, then each directory of RUNBOOK_PLUGIN_PATH, then beside the runbook " +
			"binary (the first found wins). It starts each once to learn its version, checks the version against " +
			"required_providers, and records version, sha256 and path in .runbook.lock.hcl beside the runbook. " +
			"Every later validate, plan and apply refuses a plugin that is not recorded there or whose binary " +
			"changed; run init again to accept a new one.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ss := newSession(s)
			cfg, diags := ss.loader.Load(pathArg(args))
			if diags.HasErrors() {
				return ss.report(diags)
			}
			h := providerHost(s, cfg, "", false)
			defer func() { _ = h.Close() }()
			lock, err := h.Init(cmd.Context())
			if err != nil {
				return err
			}
			if len(lock.Providers) == 0 {
				fmt.Fprintln(s.out, "The runbook uses only built-in providers: there is nothing to lock.")
				return nil
			}
			fmt.Fprintln(s.out, "Provider plugins:")
			names := make([]string, 0, len(lock.Providers))
			for n := range lock.Providers {
				names = append(names, n)
			}
			slices.Sort(names)
			for _, n := range names {
				p := lock.Providers[n]
				fmt.Fprintf(s.out, "- %s %s (%s, sha256 %s)\n", n, p.Version, p.Path, p.ShortSHA())
			}
			fmt.Fprintf(s.out, "Wrote %s. Commit it: every run checks the plugins against it.\n", host.RelativePath(".", h.LockFile()))
			return nil
		},
	}
}
