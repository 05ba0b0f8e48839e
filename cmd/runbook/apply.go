package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"
	"golang.org/x/term"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/internal/ui"
	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/host"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/runbook"
)

type applyOptions struct {
	vars        []varArg
	parallelism int
	dryRun      bool
	autoApprove bool
	targets     []string
	resume      string
	rerun       []string
	json        bool
	stateDir    string
	lockTimeout time.Duration
	verbose     bool
	// found is the state a resume without PATH found the run in.
	found *stateConfig
}

func newApplyCommand(s *streams) *cobra.Command {
	o := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "apply [PATH | PLANFILE]",
		Short: "Run a runbook (or a saved plan) step by step",
		Long: "Apply runs the runbook's steps as a graph, in parallel where it allows, with retries, " +
			"timeouts and approval gates, writing every transition to the journal before acting on it. " +
			"Finally steps run at the end, also after a failure or Ctrl-C. With a plan file from " +
			"`runbook plan -out`, it runs exactly that plan and refuses if a runbook file changed.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(s, args) },
	}
	o.flags(cmd)
	return cmd
}

func newResumeCommand(s *streams) *cobra.Command {
	o := &applyOptions{}
	cmd := &cobra.Command{
		Use:   "resume RUN_ID [PATH]",
		Short: "Continue a crashed, failed or cancelled run (apply --resume)",
		Long: "Resume continues a run from its journal: succeeded steps keep their outputs and are not run again. " +
			"Without PATH the runbook is read from where the run started, and the run is looked up as `runbook runs` " +
			"does (--state-dir, the backend block of a runbook in the current directory, or RUNBOOK_BACKEND). " +
			"With PATH, the runbook there (a copy on another machine, say) and its backend are used; its steps " +
			"that already succeeded must be defined as they were.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			o.resume = args[0]
			return o.run(s, args[1:])
		},
	}
	o.flags(cmd)
	return cmd
}

func (o *applyOptions) flags(cmd *cobra.Command) {
	f := cmd.Flags()
	addVarFlags(cmd, &o.vars)
	f.IntVar(&o.parallelism, "parallelism", 10, "run at most `N` steps at once")
	f.BoolVar(&o.dryRun, "dry-run", false, "walk every step with the providers' Plan: nothing mutates")
	f.BoolVar(&o.autoApprove, "auto-approve", false, "do not ask before steps with confirm")
	f.StringArrayVar(&o.targets, "target", nil, "run only this `STEP` and what it depends on (repeatable)")
	f.StringArrayVar(&o.rerun, "rerun", nil, "on resume, run this `STEP` again even if it succeeded or was interrupted (repeatable)")
	f.BoolVar(&o.json, "json", false, "print one JSON event per line (docs/events-json.md)")
	f.StringVar(&o.stateDir, "state-dir", "", "where runs are journaled, for the local backend (default: .runbook beside the runbook)")
	f.DurationVar(&o.lockTimeout, "lock-timeout", 0, "wait up to `DURATION` for the state lock another run holds (default: fail at once)")
	f.BoolVarP(&o.verbose, "verbose", "v", false, "show provider debug logs and progress")
	if cmd.Name() == "apply" {
		f.StringVar(&o.resume, "resume", "", "continue the run `RUN_ID` (or last)")
	}
}

func (o *applyOptions) run(s *streams, args []string) error {
	ss := newSession(s)
	path, err := o.runbookPath(ss, args)
	if err != nil {
		return err
	}
	cfg, vars, err := o.load(ss, path)
	if err != nil {
		return err
	}
	h, err := ss.providers(cfg, o.verbose)
	if err != nil {
		return err
	}
	defer func() { _ = h.Close() }()
	backend, sealer, err := o.openState(ss, cfg)
	if err != nil {
		return err
	}
	defer func() { _ = backend.Close() }()
	if o.resume, err = resolveRunID(backend, o.resume); err != nil {
		return err
	}
	runCtx, finallyCtx, stop := interruptContexts(s.err)
	defer stop()
	view := o.view(s)
	eng := &runbook.Engine{
		Schemas: h.Schemas(), Providers: providerFactory(h, o.autoApprove, view), Backend: backend, Sealer: sealer,
		Observer: view, Confirm: terminalConfirm(s, view),
	}
	res, diags, err := eng.Apply(runCtx, cfg, runbook.ApplyOptions{
		Vars: vars, Parallelism: o.parallelism, DryRun: o.dryRun, AutoApprove: o.autoApprove,
		Targets: o.targets, ResumeID: o.resume, Rerun: o.rerun, Finally: finallyCtx,
	})
	view.Close()
	if rerr := ss.report(diags); rerr != nil {
		return rerr
	}
	if err != nil {
		return explainLocked(err)
	}
	if !o.json {
		ui.Outputs(s.out, res.Outputs)
		fmt.Fprintf(s.out, "\nRun %s %s. Details: runbook runs show %s\n", res.RunID, res.Status, res.RunID)
	}
	if res.Status != runbook.RunFinished {
		return exitCode(1)
	}
	return nil
}

// runbookPath is the PATH argument, or for a resume without one, the
// directory the run started from (read from its journal, found where
// `runbook runs` looks; the resume then uses that state).
func (o *applyOptions) runbookPath(ss *session, args []string) (string, error) {
	if len(args) > 0 || o.resume == "" {
		return pathArg(args), nil
	}
	sc, err := stateForCommand(ss, o.stateDir)
	if err != nil {
		return "", err
	}
	run, err := runHeader(sc, o.resume)
	if err != nil {
		return "", err
	}
	if _, err := os.Stat(run.Dir); err != nil {
		return "", fmt.Errorf("run %s started from %s on host %s, which is not here; give the runbook's PATH: runbook resume %s PATH",
			run.ID, run.Dir, run.Host, run.ID)
	}
	o.resume, o.found = run.ID, sc
	return run.Dir, nil
}

// runHeader reads what a run recorded about itself when it started.
func runHeader(sc *stateConfig, id string) (*state.RunInfo, error) {
	b, err := sc.open(context.Background())
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
	if len(recs) == 0 || recs[0].Run == nil || recs[0].Run.Dir == "" {
		return nil, fmt.Errorf("run %s does not record where its runbook is; give the PATH", id)
	}
	run := *recs[0].Run
	run.ID = id
	return &run, nil
}

// load reads the runbook and its variables, or a plan file and the
// runbook it was made from.
func (o *applyOptions) load(ss *session, path string) (*dsl.Config, map[string]cty.Value, error) {
	pf, err := runbook.ReadPlanFile(path)
	if err == nil {
		return o.loadPlan(ss, path, pf)
	}
	if info, serr := os.Stat(path); serr == nil && !info.IsDir() && !strings.HasSuffix(path, ".hcl") && !strings.HasSuffix(path, ".json") {
		return nil, nil, err
	}
	cfg, diags := ss.loader.Load(path)
	if diags.HasErrors() {
		return nil, nil, ss.report(diags)
	}
	if o.resume != "" {
		return cfg, nil, ss.report(diags) // a resumed run keeps the variables it started with
	}
	vars, vdiags := ss.variables(cfg, o.vars)
	if err := ss.report(append(diags, vdiags...)); err != nil {
		return nil, nil, err
	}
	return cfg, vars, nil
}

// loadPlan loads the runbook a plan file was made from and its variables,
// refusing if any runbook file changed since the plan.
func (o *applyOptions) loadPlan(ss *session, path string, pf *runbook.PlanFile) (*dsl.Config, map[string]cty.Value, error) {
	cfg, diags := ss.loader.Load(pf.Dir)
	if diags.HasErrors() {
		return nil, nil, ss.report(diags)
	}
	changed, err := pf.ChangedFiles(cfg)
	if err != nil {
		return nil, nil, err
	}
	if len(changed) > 0 {
		return nil, nil, fmt.Errorf("the plan %s is stale: these runbook files changed since it was made: %s; run runbook plan again",
			path, strings.Join(changed, ", "))
	}
	base, err := pf.Planned()
	if err != nil {
		return nil, nil, fmt.Errorf("the plan %s: %w", path, err)
	}
	vars, vdiags := ss.variablesOver(cfg, base, o.vars)
	if missingSensitive(vdiags, pf) {
		// The plan's own message says why the value must be given again.
		vdiags = nil
	}
	if err := ss.report(vdiags); err != nil {
		return nil, nil, err
	}
	planned, err := pf.Vars(vars)
	if err != nil {
		return nil, nil, fmt.Errorf("the plan %s: %w", path, err)
	}
	return cfg, planned, nil
}

// view is where run events go: JSON lines, the live view on a terminal,
// or log lines.
type view interface {
	runbook.Observer
	Pause()  // give the terminal to a prompt
	Resume() // take it back
	Close()
}

// quietView adapts the views that need no terminal handling.
type quietView struct{ runbook.Observer }

func (quietView) Pause()  {}
func (quietView) Resume() {}
func (quietView) Close()  {}

func (o *applyOptions) view(s *streams) view {
	switch {
	case o.json:
		return quietView{ui.NewJSONView(s.out)}
	case !o.verbose && isTerminal(s.err):
		return &lateView{start: func() view { return ui.NewLiveView(s.err) }}
	}
	return quietView{ui.NewLogView(s.err, o.verbose)}
}

// lateView starts a live view at the run's first event: until then,
// while it waits for and takes the state lock, apply prints lines of its
// own, which a live view would draw over.
type lateView struct {
	start func() view
	mu    sync.Mutex
	v     view
}

func (l *lateView) get() view {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.v == nil {
		l.v = l.start()
	}
	return l.v
}

func (l *lateView) Event(e runbook.Event) { l.get().Event(e) }
func (l *lateView) Pause()                { l.get().Pause() }
func (l *lateView) Resume()               { l.get().Resume() }

func (l *lateView) Close() {
	l.mu.Lock()
	v := l.v
	l.mu.Unlock()
	if v != nil {
		v.Close()
	}
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// openState opens the run's state and its journal key, creating the key
// on first use. A resume whose run was found by runbookPath goes on where
// it was found, with the key beside the runbook it read.
func (o *applyOptions) openState(ss *session, cfg *dsl.Config) (state.Backend, *runbook.Sealer, error) {
	sc, err := o.stateConfig(ss, cfg)
	if err != nil {
		return nil, nil, err
	}
	b, err := sc.open(context.Background())
	if err != nil {
		return nil, nil, err
	}
	warning := sc.keyWarning(o.resume != "")
	sealer, err := sc.sealer(true)
	if err != nil {
		_ = b.Close()
		return nil, nil, err
	}
	say := func(line string) { fmt.Fprintln(ss.err, line) }
	w := &lockWaiter{Backend: b, wait: o.lockTimeout, say: say, acquired: func(lockID string) {
		if warning != "" {
			say(warning)
		}
		if o.verbose && lockID != "" {
			say(fmt.Sprintf("Acquired the state lock of %s (lock ID %s)", b, lockID))
		}
	}}
	return w, sealer, nil
}

func (o *applyOptions) stateConfig(ss *session, cfg *dsl.Config) (*stateConfig, error) {
	if sc := o.found; sc != nil {
		if sc.kind == dsl.BackendPostgres {
			sc.keyDir = filepath.Join(cfg.Dir, ".runbook")
		}
		return sc, nil
	}
	sc, diags := stateForRunbook(cfg, o.stateDir)
	if err := ss.report(diags); err != nil {
		return nil, err
	}
	warnIgnoredEnv(ss.err, sc)
	return sc, nil
}

// interruptContexts cancels the run on the first SIGINT or SIGTERM (finally
// steps still run) and the finally steps on the second.
func interruptContexts(stderr io.Writer) (context.Context, context.Context, func()) {
	runCtx, cancelRun := context.WithCancel(context.Background())
	finallyCtx, cancelFinally := context.WithCancel(context.Background())
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	go func() {
		n := 0
		for range sigs {
			if n++; n == 1 {
				fmt.Fprintln(stderr, "Interrupted: cancelling running steps; finally steps will still run (interrupt again to stop them).")
				cancelRun()
				continue
			}
			fmt.Fprintln(stderr, "Interrupted again: stopping finally steps.")
			cancelFinally()
		}
	}()
	return runCtx, finallyCtx, func() {
		signal.Stop(sigs)
		cancelRun()
		cancelFinally()
	}
}

// terminalConfirm asks y/N on the terminal; without one it returns nil so
// that the engine refuses gated steps unless --auto-approve.
func terminalConfirm(s *streams, v view) func(ctx context.Context, step, message string) (bool, error) {
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil
	}
	in := bufio.NewReader(os.Stdin)
	return func(ctx context.Context, step, message string) (bool, error) {
		v.Pause() // one question at a time, even with parallel steps
		defer v.Resume()
		fmt.Fprintf(s.err, "\n%s asks for confirmation:\n  %s\nProceed? [y/N] ", step, message)
		line, err := in.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return false, err
		}
		answer := strings.ToLower(strings.TrimSpace(line))
		return answer == "y" || answer == "yes", nil
	}
}

// providerFactory starts providers by name: core in-process, with the
// operator's approver; the others as plugins, through the host.
func providerFactory(h *host.Host, autoApprove bool, v view) runbook.ProviderFactory {
	return func(ctx context.Context, name string) (provider.Provider, error) {
		if name == "core" {
			return core.New(core.Options{Approver: approver(autoApprove, v)}), nil
		}
		return h.Provider(ctx, name)
	}
}

// approver serves core.approve: on a terminal the operator types their
// name; --auto-approve approves as "auto-approve"; otherwise approval is
// impossible and the step fails.
func approver(autoApprove bool, v view) func(ctx context.Context, message string) (string, error) {
	if autoApprove {
		return func(context.Context, string) (string, error) { return "auto-approve", nil }
	}
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return nil
	}
	return func(ctx context.Context, message string) (string, error) {
		v.Pause()
		defer v.Resume()
		fmt.Fprintf(os.Stderr, "\nManual step:\n  %s\nType your name when it is done (empty to refuse): ", message)
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		name := strings.TrimSpace(line)
		if err != nil && name == "" {
			return "", err
		}
		if name == "" {
			return "", errors.New("the operator refused")
		}
		return name, nil
	}
}

// resolveRunID turns "last" into the newest run's ID.
func resolveRunID(b state.Backend, id string) (string, error) {
	if id != "last" {
		return id, nil
	}
	runs, err := b.List(context.Background())
	if err != nil {
		return "", err
	}
	if len(runs) == 0 {
		return "", errors.New("there is no run yet: nothing is \"last\"")
	}
	return runs[0].ID, nil
}

// missingSensitive reports whether the only problems are sensitive plan
// variables not given again: PlanFile.Vars explains those better.
func missingSensitive(diags hcl.Diagnostics, pf *runbook.PlanFile) bool {
	if !diags.HasErrors() {
		return false
	}
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if d.Summary != "No value for required variable" {
			return false
		}
		sensitive := false
		for name, pv := range pf.Variables {
			if pv.Sensitive && strings.Contains(d.Detail, fmt.Sprintf("%q", name)) {
				sensitive = true
			}
		}
		if !sensitive {
			return false
		}
	}
	return true
}
