package runbook

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/jonboulle/clockwork"
	"github.com/oklog/ulid/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// ProviderFactory starts an unconfigured instance of the named provider.
// The engine configures it and closes it at the end of the run.
type ProviderFactory func(ctx context.Context, name string) (provider.Provider, error)

// Engine runs runbooks. Its fields are the collaborators a run needs; one
// Engine may run several runbooks in turn.
type Engine struct {
	Schemas   dsl.SchemaSource
	Providers ProviderFactory
	Backend   state.Backend
	Sealer    *Sealer
	Observer  Observer
	// Confirm asks an operator to allow a step with `confirm`; nil refuses
	// (no terminal) unless the run is auto-approved.
	Confirm func(ctx context.Context, step, message string) (bool, error)
	Clock   clockwork.Clock
	// Jitter returns a number in [0,1) for retry jitter; tests fix it.
	Jitter func() float64
}

// ApplyOptions are one run's settings.
type ApplyOptions struct {
	Vars        map[string]cty.Value
	Parallelism int
	DryRun      bool
	AutoApprove bool
	// Targets limits the run to these steps and what they depend on.
	Targets []string
	// ResumeID continues that run instead of starting a new one.
	ResumeID string
	// Rerun lists steps caught mid-flight that the operator allows to run
	// again on resume.
	Rerun []string
	// Finally is the context finally steps run under: it outlives a
	// cancelled run context (Ctrl-C) so cleanup still happens; cancelling
	// it too (a second Ctrl-C) stops them. Nil means context.Background().
	Finally context.Context
}

// Result is how a run ended.
type Result struct {
	RunID   string
	Status  RunStatus
	Outputs []*PlannedValue
	Syncs   int64
}

// Apply runs the runbook cfg. It returns diagnostics for problems in the
// runbook and an error for a failure of the machinery (journal, state);
// failed steps are not errors: they end the run with RunFailed.
func (e *Engine) Apply(ctx context.Context, cfg *dsl.Config, opts ApplyOptions) (*Result, hcl.Diagnostics, error) {
	e.defaults()
	if opts.Parallelism <= 0 {
		opts.Parallelism = 10
	}
	diags := dsl.ValidateForPlan(cfg, e.Schemas)
	g, gdiags := BuildGraph(cfg)
	diags = append(diags, gdiags...)
	if diags.HasErrors() {
		return nil, append(dsl.Validate(cfg, e.Schemas), gdiags...), nil
	}
	targets, tdiags := targetSet(g, opts.Targets)
	if tdiags.HasErrors() {
		return nil, append(diags, tdiags...), nil
	}
	r, err := e.newRun(ctx, cfg, g, opts, targets)
	if err != nil {
		return nil, diags, err
	}
	res, err := r.execute(ctx)
	// An output's error may quote a sensitive value (tonumber(var.x)).
	return res, append(diags, r.secrets.scrubDiagnostics(r.diags)...), err
}

func (e *Engine) defaults() {
	if e.Clock == nil {
		e.Clock = clockwork.NewRealClock()
	}
	if e.Jitter == nil {
		e.Jitter = rand.Float64
	}
	if e.Observer == nil {
		e.Observer = ObserverFunc(func(Event) {})
	}
}

// NewRunID returns a new run ID: a ULID, so IDs sort by start time.
func NewRunID() string { return ulid.Make().String() }

// runInfo describes the new run for its journal header.
func runInfo(cfg *dsl.Config, opts ApplyOptions) (*state.RunInfo, error) {
	files, err := HashFiles(cfg)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(cfg.Dir) // resume may run from another directory
	if err != nil {
		return nil, err
	}
	info := &state.RunInfo{
		ID: NewRunID(), Dir: dir, Files: files, DryRun: opts.DryRun, Targets: opts.Targets,
		Parallelism: opts.Parallelism, JournalVersion: state.FormatVersion,
	}
	if cfg.Runbook != nil {
		info.Runbook, info.Version = cfg.Runbook.Name, cfg.Runbook.Version
	}
	info.Host, _ = os.Hostname()
	if u, err := user.Current(); err == nil {
		info.User = u.Username
	}
	return info, nil
}

// targetSet is every node a --target needs: the targets and their
// transitive dependencies. Nil means all nodes.
func targetSet(g *Graph, targets []string) (map[int]bool, hcl.Diagnostics) {
	if len(targets) == 0 {
		return nil, nil
	}
	set := map[int]bool{}
	var diags hcl.Diagnostics
	var add func(id int)
	add = func(id int) {
		if set[id] {
			return
		}
		set[id] = true
		for _, d := range g.Nodes[id].Deps {
			add(d)
		}
	}
	// Finally steps run in a targeted run too, like a defer.
	for _, n := range g.Nodes {
		if n.Finally() {
			set[n.ID] = true
		}
	}
	for _, t := range targets {
		n := g.Node(t)
		if n == nil {
			n = g.Node("step." + t)
		}
		if n == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unknown target",
				Detail:   fmt.Sprintf("No step %q; a target is a step address such as step.backup or module.restore.step.upload.", t),
			})
			continue
		}
		add(n.ID)
	}
	return set, diags
}

// errJournal marks a failure to write the journal: the run cannot go on
// safely, since it could no longer resume.
var errJournal = errors.New("journal")

func isTarget(targets map[int]bool, id int) bool {
	return targets == nil || targets[id]
}

// retryPolicy is a step's evaluated retry block.
type retryPolicy struct {
	attempts int
	delay    time.Duration
	backoff  float64
	maxDelay time.Duration
}

// wait returns the pause before attempt n+1: delay * backoff^(n-1), capped,
// with "equal jitter" (half fixed, half random) so that parallel retries
// against one API spread out.
func (p retryPolicy) wait(n int, jitter float64) time.Duration {
	d := float64(p.delay)
	for i := 1; i < n; i++ {
		d *= p.backoff
	}
	if p.maxDelay > 0 && d > float64(p.maxDelay) {
		d = float64(p.maxDelay)
	}
	return time.Duration(d/2 + jitter*d/2)
}

func containsAddr(list []string, addr string) bool {
	return slices.Contains(list, addr) || slices.Contains(list, baseAddr(addr))
}
