package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/modules"
	"github.com/runbook-dev/runbook/plugins/host"
)

func newInitCommand(s *streams) *cobra.Command {
	var upgrade bool
	cmd := &cobra.Command{
		Use:   "init [PATH]",
		Short: "Fetch the git modules and find the provider plugins a runbook uses; lock them in .runbook.lock.hcl",
		Long: "Init fetches every git module the runbook in PATH (default .) calls, and the git modules those call, " +
			"into .runbook/modules beside the runbook: the commit the lock file records, or, for a module not locked " +
			"yet (or whose source or version changed), the newest tag its version constraint allows, its ?ref=, or the " +
			"default branch. -upgrade picks again for every module. " +
			"It then finds a plugin for every provider the runbook and its modules use: in " +
			".runbook/plugins beside the runbook, then each directory of RUNBOOK_PLUGIN_PATH, then beside the runbook " +
			"binary (the first found wins). It starts each once to learn its version, checks the version against " +
			"required_providers, and records version, sha256 and path in .runbook.lock.hcl beside the runbook, with " +
			"each module's source, version, ref and commit. " +
			"Every later validate, plan and apply refuses a plugin or module that is not recorded there or that " +
			"changed; run init again to accept a new one.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInit(cmd.Context(), s, pathArg(args), upgrade)
		},
	}
	cmd.Flags().BoolVar(&upgrade, "upgrade", false, "pick every git module's commit again, within its version constraint")
	return cmd
}

func runInit(ctx context.Context, s *streams, path string, upgrade bool) error {
	ss := newSession(s)
	installer := modules.NewInstaller(ctx, upgrade)
	ss.loader.Remote = installer
	cfg, diags := ss.loader.Load(path)
	if diags.HasErrors() {
		return ss.report(diags)
	}
	printModules(s.out, installer.Installed())
	// The module blocks are written first: the host then rewrites the
	// providers around them, and a provider init refuses still leaves the
	// lock file agreeing with the checkouts just made.
	if err := modules.WriteLock(modules.LockPath(cfg.Dir), installer.Lock()); err != nil {
		return err
	}
	h := providerHost(s, cfg, "", false)
	defer func() { _ = h.Close() }()
	lock, err := h.Init(ctx)
	if err != nil {
		return err
	}
	printLockedProviders(s.out, lock)
	if len(lock.Providers) == 0 && len(installer.Installed()) == 0 {
		fmt.Fprintln(s.out, "The runbook uses only built-in providers and local modules: there is nothing to lock.")
		return nil
	}
	fmt.Fprintf(s.out, "Wrote %s. Commit it: every run checks the plugins and modules against it.\n", host.RelativePath(".", h.LockFile()))
	return nil
}

// printModules shows each git module as its address, so that it reads
// like the module's steps in plan and history.
func printModules(w io.Writer, installed []*modules.Locked) {
	for _, m := range installed {
		fmt.Fprintf(w, "%s: %s (%s, commit %s)\n", moduleAddr(m.Key), m.Source, m.Ref, m.ShortCommit())
	}
}

// moduleAddr turns a module key (restore.upload) into the address plan
// and history use (module.restore.module.upload).
func moduleAddr(key string) string { return "module." + strings.ReplaceAll(key, ".", ".module.") }

func printLockedProviders(w io.Writer, lock *host.Lock) {
	if len(lock.Providers) == 0 {
		return
	}
	fmt.Fprintln(w, "Provider plugins:")
	names := make([]string, 0, len(lock.Providers))
	for n := range lock.Providers {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		p := lock.Providers[n]
		fmt.Fprintf(w, "- %s %s (%s, sha256 %s)\n", n, p.Version, p.Path, p.ShortSHA())
	}
}
