package main

import (
	"encoding/json"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/internal/ui"
	"github.com/runbook-dev/runbook/runbook"
)

type planOptions struct {
	vars             []varArg
	out              string
	json             bool
	detailedExitCode bool
}

func newPlanCommand(s *streams) *cobra.Command {
	o := &planOptions{}
	cmd := &cobra.Command{
		Use:   "plan [PATH]",
		Short: "Show what a run would do, step by step",
		Long: "Plan evaluates the runbook with its variable values and prints each step in execution order " +
			"with its inputs, conditions and for_each expansion, then the finally steps, the outputs, and " +
			"the critical path against the runbook's RTO. Values known only after a step runs are shown as " +
			"(known after step.NAME); sensitive ones as (sensitive).",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(s, pathArg(args)) },
	}
	addVarFlags(cmd, &o.vars)
	cmd.Flags().StringVar(&o.out, "out", "", "save the plan to this `FILE`, for runbook apply FILE")
	cmd.Flags().BoolVar(&o.json, "json", false, "print the plan as JSON (docs/plan-json.md)")
	cmd.Flags().BoolVar(&o.detailedExitCode, "detailed-exitcode", false, "exit 2 when the plan has steps to run")
	return cmd
}

func addVarFlags(cmd *cobra.Command, list *[]varArg) {
	cmd.Flags().Var(varArgs{list: list}, "var", "set a variable: NAME=VALUE (repeatable)")
	cmd.Flags().Var(varArgs{list: list, file: true}, "var-file", "read variables from an .hcl or .json file (repeatable)")
}

func (o *planOptions) run(s *streams, path string) error {
	ss := newSession(s)
	cfg, diags := ss.loader.Load(path)
	if diags.HasErrors() {
		return ss.report(diags)
	}
	vars, vdiags := ss.variables(cfg, o.vars)
	diags = append(diags, vdiags...)
	if diags.HasErrors() {
		return ss.report(diags)
	}
	h, err := ss.providers(cfg, false)
	if err != nil {
		return err
	}
	defer func() { _ = h.Close() }()
	planner := &runbook.Planner{Schemas: h.Schemas()}
	plan, _, pdiags := planner.Plan(cfg, vars)
	if err := ss.report(append(diags, pdiags...)); err != nil {
		return err
	}
	if o.json {
		enc := json.NewEncoder(s.out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(plan.JSON()); err != nil {
			return err
		}
	} else {
		ui.Plan(s.out, plan)
	}
	if o.out != "" {
		pf, err := runbook.NewPlanFile(cfg, vars, plan)
		if err == nil {
			err = pf.Write(o.out)
		}
		if err != nil {
			return fmt.Errorf("saving the plan to %s: %w", o.out, err)
		}
		if !o.json {
			fmt.Fprintf(s.out, "Saved the plan to %s. Run it with: runbook apply %s\n", o.out, o.out)
		}
	}
	if o.detailedExitCode && plan.ToRun() > 0 {
		return exitCode(2)
	}
	return nil
}
