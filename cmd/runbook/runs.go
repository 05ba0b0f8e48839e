package main

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/internal/ui"
	"github.com/runbook-dev/runbook/runbook"
)

type historyOptions struct {
	stateDir string
	json     bool
	run      string
	raw      bool
}

func (o *historyOptions) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&o.stateDir, "state-dir", "", "a local state directory (default: the backend of the runbook in the current directory, "+
		"else RUNBOOK_BACKEND, else .runbook here)")
	cmd.Flags().BoolVar(&o.json, "json", false, "print JSON")
}

func newRunsCommand(s *streams) *cobra.Command {
	o := &historyOptions{}
	cmd := &cobra.Command{Use: "runs", Short: "Show the history of runs"}
	list := &cobra.Command{
		Use:   "list",
		Short: "List runs, newest first",
		Args:  cobra.NoArgs,
		RunE:  func(cmd *cobra.Command, args []string) error { return o.list(s) },
	}
	show := &cobra.Command{
		Use:   "show RUN_ID",
		Short: "Show a run: every step, attempt and item (RUN_ID may be last)",
		Args:  cobra.ExactArgs(1),
		RunE:  func(cmd *cobra.Command, args []string) error { return o.show(s, args[0]) },
	}
	o.flags(list)
	o.flags(show)
	cmd.AddCommand(list, show)
	return cmd
}

func newOutputCommand(s *streams) *cobra.Command {
	o := &historyOptions{}
	cmd := &cobra.Command{
		Use:   "output [NAME]",
		Short: "Print the outputs of a run (the last one by default)",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return o.output(s, args)
		},
	}
	o.flags(cmd)
	cmd.Flags().StringVar(&o.run, "run", "last", "the run to read")
	cmd.Flags().BoolVar(&o.raw, "raw", false, "print a string output as is, without quotes, for scripts")
	return cmd
}

// open finds the state as every command without a runbook argument does.
func (o *historyOptions) open(s *streams) (state.Backend, *runbook.Sealer, error) {
	sc, err := stateForCommand(newSession(s), o.stateDir)
	if err != nil {
		return nil, nil, err
	}
	return sc.openReadOnly(context.Background())
}

func (o *historyOptions) view(s *streams, id string) (*runbook.RunView, error) {
	b, sealer, err := o.open(s)
	if err != nil {
		return nil, err
	}
	defer func() { _ = b.Close() }()
	if id, err = resolveRunID(b, id); err != nil {
		return nil, err
	}
	recs, err := b.Read(context.Background(), id)
	if err != nil {
		return nil, err
	}
	v := runbook.ViewRun(recs, sealer)
	if v.Status == string(runbook.RunRunning) {
		v.Status = liveStatus(b, id) // running, or interrupted by a crash
	}
	return v, nil
}

// liveStatus asks the backend, which knows whether the run's lock is still
// held, how an unfinished run stands.
func liveStatus(b state.Backend, id string) string {
	runs, err := b.List(context.Background())
	if err == nil {
		for _, r := range runs {
			if r.ID == id {
				return r.Status
			}
		}
	}
	return string(runbook.RunRunning)
}

func (o *historyOptions) list(s *streams) error {
	b, _, err := o.open(s)
	if err != nil {
		return err
	}
	defer func() { _ = b.Close() }()
	runs, err := b.List(context.Background())
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(s, ui.RunsJSON(runs))
	}
	ui.Runs(s.out, runs)
	return nil
}

func (o *historyOptions) show(s *streams, id string) error {
	v, err := o.view(s, id)
	if err != nil {
		return err
	}
	if o.json {
		return writeJSON(s, ui.RunJSON(v))
	}
	ui.Run(s.out, v)
	return nil
}

func (o *historyOptions) output(s *streams, args []string) error {
	v, err := o.view(s, o.run)
	if err != nil {
		return err
	}
	if len(args) == 1 {
		val, ok := v.Outputs[args[0]]
		if !ok {
			return fmt.Errorf("run %s has no output named %q", v.Info.ID, args[0])
		}
		if o.raw {
			return rawOutput(s, args[0], val)
		}
		fmt.Fprintln(s.out, ui.OutputValue(val))
		return nil
	}
	if o.json {
		return writeJSON(s, ui.OutputsJSON(v.Outputs))
	}
	ui.Outputs(s.out, ui.OutputList(v.Outputs))
	return nil
}

func writeJSON(s *streams, v any) error {
	enc := json.NewEncoder(s.out)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// rawOutput prints a known, non-sensitive string, number or bool bare.
func rawOutput(s *streams, name string, v cty.Value) error {
	switch {
	case v.IsMarked():
		return fmt.Errorf("output %q is sensitive; -raw does not print it", name)
	case !v.IsWhollyKnown() || v.IsNull():
		return fmt.Errorf("output %q has no value", name)
	case v.Type() == cty.String:
		fmt.Fprintln(s.out, v.AsString())
	case v.Type() == cty.Number:
		fmt.Fprintln(s.out, v.AsBigFloat().Text('f', -1))
	case v.Type() == cty.Bool:
		fmt.Fprintln(s.out, v.True())
	default:
		return fmt.Errorf("output %q is a %s; -raw prints strings, numbers and bools (use -json)", name, v.Type().FriendlyName())
	}
	return nil
}
