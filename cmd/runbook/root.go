package main

import (
	"io"
	"os"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/modules"
	"github.com/runbook-dev/runbook/internal/ui"
)

// version is set by the Makefile through -ldflags.
var version = "dev"

// streams are where a command writes; tests give buffers.
type streams struct {
	out, err io.Writer
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	s := &streams{out: stdout, err: stderr}
	root := &cobra.Command{
		Use:           "runbook",
		Short:         "Plan and run disaster-recovery runbooks written in HCL",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(
		newValidateCommand(s),
		newPlanCommand(s),
		newGraphCommand(s),
		newFmtCommand(s),
		newApplyCommand(s),
		newResumeCommand(s),
		newRunsCommand(s),
		newOutputCommand(s),
		newForceUnlockCommand(s),
		newSimCommand(s),
		newInitCommand(s),
		newProvidersCommand(s),
	)
	return root
}

// session loads one runbook and prints diagnostics against its sources.
type session struct {
	*streams
	loader *dsl.Loader
}

// newSession loads git modules from where `runbook init` installed them,
// refusing any that init did not install as the runbook asks.
func newSession(s *streams) *session {
	loader := dsl.NewLoader()
	loader.Remote = modules.NewResolver()
	return &session{streams: s, loader: loader}
}

// report prints diagnostics in source order and returns exit status 1 if
// any is an error.
func (s *session) report(diags hcl.Diagnostics) error {
	ui.Diagnostics(s.err, ui.SortDiagnostics(diags), s.loader.Files())
	if diags.HasErrors() {
		return exitCode(1)
	}
	return nil
}

func pathArg(args []string) string {
	if len(args) == 0 {
		return "."
	}
	return args[0]
}

// variables resolves the root variables from the environment and flags.
func (s *session) variables(cfg *dsl.Config, args []varArg) (map[string]cty.Value, hcl.Diagnostics) {
	in := make([]dsl.VarArg, len(args))
	for i, a := range args {
		in[i] = dsl.VarArg{File: a.file, Value: a.value}
	}
	return s.loader.ResolveVariables(cfg, os.Environ(), in)
}

// variablesOver resolves variables over base values (a plan's).
func (s *session) variablesOver(cfg *dsl.Config, base map[string]cty.Value, args []varArg) (map[string]cty.Value, hcl.Diagnostics) {
	in := make([]dsl.VarArg, len(args))
	for i, a := range args {
		in[i] = dsl.VarArg{File: a.file, Value: a.value}
	}
	return s.loader.ResolveVariablesOver(cfg, base, os.Environ(), in)
}

// reportSources prints diagnostics for files parsed outside the loader
// (fmt parses files one by one), reading their sources for the snippet.
func (s *session) reportSources(diags hcl.Diagnostics) error {
	files := map[string]*hcl.File{}
	for _, d := range diags {
		if d.Subject == nil || files[d.Subject.Filename] != nil {
			continue
		}
		if src, rdiags := dsl.ReadSource(d.Subject.Filename); !rdiags.HasErrors() {
			files[d.Subject.Filename] = &hcl.File{Bytes: src}
		}
	}
	ui.Diagnostics(s.err, diags, files)
	if diags.HasErrors() {
		return exitCode(1)
	}
	return nil
}
