package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/charmbracelet/log"
	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/host"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// logEnv set to "debug" shows the plugins' logs (as -v does for apply).
const logEnv = "RUNBOOK_LOG"

// providerHost serves the providers of the runbook cfg: core in-process,
// the others as plugins found beside the runbook, in RUNBOOK_PLUGIN_PATH
// or beside this binary, checked against .runbook.lock.hcl. Their logs go
// to stderr at debug level with -v or RUNBOOK_LOG=debug.
func providerHost(s *streams, cfg *dsl.Config, dir string, verbose bool) *host.Host {
	level := log.WarnLevel
	if verbose || strings.EqualFold(os.Getenv(logEnv), "debug") {
		level = log.DebugLevel
	}
	logger := log.NewWithOptions(s.err, log.Options{Level: level, ReportTimestamp: true, TimeFormat: "2006-01-02 15:04:05"})
	return host.New(host.Options{
		Config: cfg, Dir: dir, Logger: logger, SchemaCache: host.DefaultSchemaCache(),
		Builtin: map[string]func() provider.Provider{"core": func() provider.Provider { return core.New(core.Options{}) }},
	})
}

// providers opens the provider host for a command that runs or checks
// the runbook, and refuses plugins that are not initialised, differ
// from the lock file or break a version constraint.
func (ss *session) providers(cfg *dsl.Config, verbose bool) (*host.Host, error) {
	h := providerHost(ss.streams, cfg, "", verbose)
	if err := ss.report(h.Verify()); err != nil {
		_ = h.Close()
		return nil, err
	}
	return h, nil
}

func newProvidersCommand(s *streams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "providers [PATH]",
		Short: "List the providers a runbook needs and the plugins installed",
		Long: "Providers lists each provider the runbook in PATH (default .) and its modules use, with the version " +
			"required_providers asks for, the plugin that would run (version and path) and what .runbook.lock.hcl " +
			"records (version and the start of the sha256), then every plugin binary found, in search order: " +
			".runbook/plugins beside the runbook, each directory of RUNBOOK_PLUGIN_PATH, then the directory of the " +
			"runbook binary. The first one found for a name is the one used.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ss := newSession(s)
			cfg, diags := ss.loader.Load(pathArg(args))
			if diags.HasErrors() {
				return ss.report(diags)
			}
			h := providerHost(s, cfg, "", false)
			defer func() { _ = h.Close() }()
			printProviders(s.out, cfg.Dir, h, h.Status(cmd.Context()))
			return nil
		},
	}
	cmd.AddCommand(newProvidersSchemaCommand(s))
	return cmd
}

func printProviders(w io.Writer, dir string, h *host.Host, statuses []host.ProviderStatus) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tREQUIRED\tINSTALLED\tLOCKED")
	var problems []string
	for _, st := range statuses {
		required, installed, locked := orDash(st.Required), "not installed", "-"
		switch {
		case st.Builtin:
			installed = strings.TrimSpace(st.Version + " built-in")
		case st.Installed != nil:
			installed = strings.TrimSpace(orQuestion(st.Version) + " " + host.RelativePath(dir, st.Installed.Path))
		}
		if st.Locked != nil {
			locked = st.Locked.Version + " " + st.Locked.ShortSHA()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", st.Name, required, installed, locked)
		if st.Problem != "" {
			problems = append(problems, st.Problem)
		}
	}
	tw.Flush()
	if len(problems) > 0 {
		fmt.Fprintln(w, "\nProblems:")
		for _, p := range problems {
			fmt.Fprintf(w, "  %s\n", p)
		}
	}
	fmt.Fprintln(w, "\nPlugins found, in search order:")
	plugins := h.Plugins()
	if len(plugins) == 0 {
		fmt.Fprintln(w, "  none")
	}
	used := map[string]bool{}
	for _, st := range statuses {
		if st.Installed != nil {
			used[st.Installed.Path] = true
		}
	}
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, p := range plugins {
		mark := ""
		if used[p.Path] {
			mark = "(used)"
		}
		fmt.Fprintf(tw, "  %s\t%s\t%s\n", p.Name, host.RelativePath(dir, p.Path), mark)
	}
	tw.Flush()
	fmt.Fprintf(w, "\nSearch path: %s\n", strings.Join(h.SearchPath(), string(os.PathListSeparator)))
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func orQuestion(s string) string {
	if s == "" {
		return "?"
	}
	return s
}

func newProvidersSchemaCommand(s *streams) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "schema -json [PATH]",
		Short: "Print the schema of every provider as JSON",
		Long: "Schema prints, as one JSON document, the configuration and actions of core and of every provider " +
			"plugin found for the runbook directory PATH (default .): each action's typed inputs and outputs, " +
			"whether it mutates and whether it is idempotent. Types are cty JSON types. The document's shape is " +
			"described in docs/providers-schema-json.md; editors and documentation generators read it.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !asJSON {
				return errors.New("runbook providers schema prints JSON only: add -json")
			}
			h := providerHost(s, nil, pathArg(args), false)
			defer func() { _ = h.Close() }()
			return printSchemas(cmd.Context(), s.out, h)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON (required)")
	return cmd
}

func printSchemas(ctx context.Context, w io.Writer, h *host.Host) error {
	all, err := h.AllSchemas(ctx)
	if err != nil {
		return err
	}
	doc := host.SchemasJSON{FormatVersion: host.SchemaFormatVersion, Providers: map[string]*host.ProviderJSON{}}
	for name, s := range all {
		pj, err := host.EncodeSchema(s)
		if err != nil {
			return fmt.Errorf("provider %s: %w", name, err)
		}
		doc.Providers[name] = pj
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(doc)
}
