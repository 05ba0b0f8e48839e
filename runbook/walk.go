package runbook

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/state"
)

// run is one execution of a runbook: the scheduler's state. Only the
// scheduler goroutine (execute) touches nodes, queue and pending; units
// run on their own goroutines and report through done.
type run struct {
	e       *Engine
	cfg     *dsl.Config
	g       *Graph
	opts    ApplyOptions
	targets map[int]bool
	id      string
	journal state.Journal
	store   *stepStore
	scope   *dsl.Scope
	provs   *providerCache
	prior   map[string]*priorUnit // what a resumed run had done
	started time.Time

	nodes   []*nodeRun
	ready   []*nodeRun
	queue   []*unit
	running int
	done    chan *unitResult
	pending []*state.Record // written before the next launch
	// mustSync: pending holds the end of a unit that must not run twice,
	// so it is written durably even when what launches next is harmless.
	mustSync bool
	finally  bool // the finally phase has begun
	runCtx   context.Context
	unitsCtx context.Context
	diags    hcl.Diagnostics
	sources  map[string][]byte // runbook files, for step digests
	secrets  secrets
}

// nodeRun is a step's progress through the run.
type nodeRun struct {
	n       *Node
	status  StepStatus
	waiting int // dependencies not finished yet
	open    int // units launched or queued, not finished
	items   map[string]cty.Value
	counts  map[StepStatus]int
	failMsg string
	started time.Time
	// unknownItems: a dry-run walked the step once for a collection it
	// could not predict.
	unknownItems bool
}

// unit is one execution: a step, or one item of a for_each step.
type unit struct {
	nr   *nodeRun
	addr string
	each *dsl.Extra
}

type unitResult struct {
	u        *unit
	status   StepStatus
	outputs  cty.Value
	message  string
	attempts int
	// interrupted marks a failure because the step was caught mid-flight
	// and nobody can tell whether it took effect.
	interrupted bool
}

func (e *Engine) newRun(ctx context.Context, cfg *dsl.Config, g *Graph, opts ApplyOptions, targets map[int]bool) (*run, error) {
	r := &run{e: e, cfg: cfg, g: g, opts: opts, targets: targets, done: make(chan *unitResult, opts.Parallelism),
		sources: map[string][]byte{}}
	if err := r.openJournal(ctx); err != nil {
		return nil, err
	}
	if r.opts.ResumeID != "" && len(r.opts.Targets) > 0 {
		r.targets, _ = targetSet(g, r.opts.Targets)
	}
	for _, v := range r.opts.Vars {
		r.secrets.add(v)
	}
	r.store = newStepStore(g, r.outputType)
	r.scope = dsl.NewScope(cfg, r.opts.Vars, r.store.view)
	r.provs = newProviderCache(e.Providers, r.scope)
	r.scope.Run = cty.ObjectVal(map[string]cty.Value{
		"id": cty.StringVal(r.id), "status": cty.UnknownVal(cty.String),
	})
	for _, n := range g.Nodes {
		nr := &nodeRun{n: n, items: map[string]cty.Value{}, counts: map[StepStatus]int{}}
		for _, d := range n.Deps {
			if g.Nodes[d].Finally() == n.Finally() {
				nr.waiting++
			}
		}
		r.nodes = append(r.nodes, nr)
	}
	return r, nil
}

func (r *run) outputType(n *Node) cty.Type { return dsl.StepOutputType(n.Step, r.e.Schemas) }

// execute walks the graph to the end and returns the result.
func (r *run) execute(ctx context.Context) (*Result, error) {
	defer r.provs.close()
	defer func() { _ = r.journal.Close() }() // every record was synced by Append
	r.runCtx, r.unitsCtx = ctx, ctx
	r.started = r.e.Clock.Now()
	r.emit(Event{Type: EventRunStarted, Message: r.cfg.Dir})
	if kept := r.keptUnits(); kept > 0 {
		r.emit(Event{Type: EventLog, Message: fmt.Sprintf("Resuming: %d of the run's steps and items already succeeded; they are kept with their outputs", kept)})
	}
	for _, nr := range r.nodes {
		if !nr.n.Finally() && nr.waiting == 0 {
			r.ready = append(r.ready, nr)
		}
	}
	if err := r.loop(); err != nil {
		return nil, err
	}
	return r.finish()
}

// keptUnits counts what a resumed run will not run again.
func (r *run) keptUnits() int {
	n := 0
	for addr, p := range r.prior {
		node := r.g.Node(baseAddr(addr))
		forEachParent := node != nil && node.Step.ForEach != nil && addr == node.Addr
		if p.status == Succeeded && node != nil && !node.Finally() && !forEachParent {
			n++
		}
	}
	return n
}

// loop is the scheduler: start what is ready, write the transitions, launch,
// then wait for units to end. Every transition of an iteration goes to the
// journal in one Append (one sync) before any unit it concerns is launched.
func (r *run) loop() error {
	for {
		r.checkCancelled()
		r.startReady()
		launch := r.take()
		for _, u := range launch {
			r.pending = append(r.pending, &state.Record{Type: state.StepStarted, Step: u.addr, Attempt: 1})
		}
		if len(r.pending) > 0 {
			r.secrets.scrubRecords(r.pending)
			if err := r.write(r.pending, !r.mustSync && r.safeToRace(launch)); err != nil {
				return fmt.Errorf("%w: %v", errJournal, err)
			}
			r.pending, r.mustSync = r.pending[:0], false
		}
		for _, u := range launch {
			r.running++
			go func(u *unit) { r.done <- r.runUnit(u) }(u)
		}
		if r.running == 0 && len(r.queue) == 0 && len(r.ready) == 0 {
			if r.finally {
				return nil
			}
			r.enterFinally()
			continue
		}
		if r.running == 0 {
			continue
		}
		r.collect(<-r.done)
		for drained := false; !drained; {
			select {
			case res := <-r.done:
				r.collect(res)
			default:
				drained = true
			}
		}
	}
}

// write journals an iteration's records. When nothing about to launch can
// do harm if it runs twice, the records are queued without waiting for
// their sync: the journal is written in order, so the next waited write
// makes them durable, and a crash before that only makes resume run an
// idempotent step (or a dry-run's) again. This is what keeps a chain of
// idempotent steps from paying one disk sync each.
func (r *run) write(recs []*state.Record, race bool) error {
	ctx := context.WithoutCancel(r.runCtx)
	if nw, ok := r.journal.(state.NoWaitAppender); ok && race {
		return nw.AppendNoWait(ctx, recs...)
	}
	return r.journal.Append(ctx, recs...)
}

// safeToRace reports whether every unit of a launch is harmless to run
// twice.
func (r *run) safeToRace(launch []*unit) bool {
	for _, u := range launch {
		if !r.harmlessTwice(u) {
			return false
		}
	}
	return true
}

// harmlessTwice: a dry-run, or an idempotent action with no confirmation
// gate.
func (r *run) harmlessTwice(u *unit) bool {
	if r.opts.DryRun {
		return true
	}
	as := r.actionSchema(u.nr.n.Step)
	return as != nil && as.Idempotent && u.nr.n.Step.Confirm == nil
}

// checkCancelled turns a cancelled run into cancelled steps: nothing new
// starts, queued units are dropped, and the finally phase follows.
func (r *run) checkCancelled() {
	if r.finally || r.runCtx.Err() == nil {
		return
	}
	for _, nr := range r.ready {
		r.endNode(nr, Cancelled, "the run was cancelled")
	}
	r.ready = nil
	for _, u := range r.queue {
		r.unitEnded(&unitResult{u: u, status: Cancelled, message: "the run was cancelled"})
	}
	r.queue = nil
}

// enterFinally starts the finally phase under the finally context, which
// a first Ctrl-C does not cancel.
func (r *run) enterFinally() {
	r.finally = true
	r.unitsCtx = r.opts.Finally
	if r.unitsCtx == nil {
		r.unitsCtx = context.Background()
	}
	r.runCtx = r.unitsCtx
	for _, nr := range r.nodes {
		if nr.n.Finally() && nr.waiting == 0 {
			r.ready = append(r.ready, nr)
		}
	}
}

// take returns the queued units that fit under the parallelism limit.
func (r *run) take() []*unit {
	n := min(r.opts.Parallelism-r.running, len(r.queue))
	if n <= 0 {
		return nil
	}
	out := r.queue[:n:n]
	r.queue = r.queue[n:]
	return out
}

// startReady decides, for each step whose dependencies have ended, whether
// it is skipped, already done (resume), or expands into units.
func (r *run) startReady() {
	for len(r.ready) > 0 {
		nr := r.ready[0]
		r.ready = r.ready[1:]
		r.startNode(nr)
	}
}

func (r *run) startNode(nr *nodeRun) {
	n := nr.n
	if !isTarget(r.targets, n.ID) {
		r.endNode(nr, Skipped, "not targeted")
		return
	}
	if why := r.upstreamProblem(nr); why != "" {
		r.endNode(nr, Skipped, why)
		return
	}
	nr.status, nr.started = Running, r.e.Clock.Now()
	scope := scopeFor(r.scope, n.Config.Path)
	if s := n.Step; s.When != nil && !exprUsesEach(s.When) {
		ok, msg := evalWhen(scope, s.When, nil, r.opts.DryRun)
		if msg != "" {
			r.endNode(nr, Failed, msg)
			return
		}
		if !ok {
			r.endNode(nr, Skipped, "when is false")
			return
		}
	}
	units, msg := r.expand(nr, scope)
	if msg != "" {
		r.endNode(nr, Failed, msg)
		return
	}
	if n.Step.ForEach != nil {
		r.emit(Event{Type: EventStepStarted, Step: n.Addr, Action: n.Step.Action.String(), Items: map[StepStatus]int{Pending: len(units)}})
	}
	for _, u := range units {
		if r.restore(u) {
			continue
		}
		nr.open++
		r.queue = append(r.queue, u)
	}
	if nr.open == 0 {
		r.closeNode(nr)
	}
}

// upstreamProblem says why a step cannot run because of a dependency; a
// finally step ignores regular steps (it runs whatever happened).
func (r *run) upstreamProblem(nr *nodeRun) string {
	for _, d := range nr.n.Deps {
		dep := r.nodes[d]
		if nr.n.Finally() && !dep.n.Finally() {
			continue
		}
		if dep.status != Succeeded {
			return fmt.Sprintf("upstream %s %s", dep.n.Addr, dep.status)
		}
	}
	return ""
}

// expand evaluates for_each and returns the step's units.
func (r *run) expand(nr *nodeRun, scope *dsl.Scope) ([]*unit, string) {
	n := nr.n
	if n.Step.ForEach == nil {
		return []*unit{{nr: nr, addr: n.Addr}}, ""
	}
	v, diags := scope.Eval(n.Step.ForEach, cty.DynamicPseudoType, nil)
	items, idiags := dsl.ForEachItems(v, n.Step.ForEach.Range())
	diags = append(diags, idiags...)
	if diags.HasErrors() {
		return nil, diagMessage(diags)
	}
	if items == nil {
		if r.opts.DryRun {
			// The collection comes from a predicted output: walk the step
			// once with an unknown item so that what follows is planned too.
			return []*unit{{nr: nr, addr: n.Addr + "[*]",
				each: &dsl.Extra{Each: &dsl.Each{Key: cty.UnknownVal(cty.String), Value: cty.DynamicVal}}}}, ""
		}
		return nil, "for_each is not known"
	}
	var units []*unit
	for _, k := range dsl.SortedItemKeys(items) {
		units = append(units, &unit{nr: nr, addr: ItemAddr(n.Addr, k),
			each: &dsl.Extra{Each: &dsl.Each{Key: cty.StringVal(k), Value: items[k]}}})
	}
	return units, ""
}

// collect records a unit's end and, when its step is complete, the step's.
func (r *run) collect(res *unitResult) {
	r.running--
	r.unitEnded(res)
}

func (r *run) unitEnded(res *unitResult) {
	nr := res.u.nr
	nr.open--
	rec := &state.Record{Step: res.u.addr, Attempt: res.attempts, Message: res.message}
	switch res.status {
	case Succeeded:
		vals, err := encodeValues(objectValues(res.outputs), r.e.Sealer)
		if err != nil {
			res.status, res.message = Failed, "cannot record outputs: "+err.Error()
			rec.Type, rec.Message = state.StepFailed, res.message
			break
		}
		rec.Type, rec.Values, rec.Digest = state.StepSucceeded, vals, stepDigest(nr.n, r.sources)
		if res.u.each != nil {
			if key := res.u.each.Each.Key; key.IsKnown() {
				nr.items[key.AsString()] = res.outputs
			} else {
				nr.unknownItems = true
			}
		}
	case Failed:
		rec.Type = state.StepFailed
		if res.interrupted {
			rec.Type = state.StepInterrupted
		}
		if nr.failMsg == "" {
			nr.failMsg = res.message
		}
	case Skipped:
		rec.Type = state.StepSkipped
	default:
		rec.Type = state.StepCancelled
	}
	nr.counts[res.status]++
	rec.Message = r.secrets.scrub(rec.Message)
	res.message = rec.Message
	r.mustSync = r.mustSync || !r.harmlessTwice(res.u)
	r.pending = append(r.pending, rec)
	r.emit(Event{Type: EventStepFinished, Step: res.u.addr, Action: nr.n.Step.Action.String(), Status: res.status,
		Attempt: res.attempts, Message: res.message})
	if res.u.each == nil && res.status == Succeeded {
		r.store.set(nr.n.Addr, res.outputs)
	}
	if nr.open == 0 && nr.status == Running {
		r.closeNode(nr)
	}
}

// closeNode ends a step whose units have all ended.
func (r *run) closeNode(nr *nodeRun) {
	status := Succeeded
	switch {
	case nr.counts[Failed] > 0:
		status = Failed
	case nr.counts[Cancelled] > 0:
		status = Cancelled
	case nr.n.Step.ForEach == nil && nr.counts[Skipped] > 0:
		status = Skipped
	}
	if nr.n.Step.ForEach != nil {
		value := itemsObject(nr.items)
		if nr.unknownItems {
			value = cty.DynamicVal // a dry-run's unknown collection
		}
		r.store.set(nr.n.Addr, value)
		rec := &state.Record{Type: recordFor(status), Step: nr.n.Addr, Message: nr.failMsg}
		r.pending = append(r.pending, rec)
		r.emit(Event{Type: EventStepFinished, Step: nr.n.Addr, Action: nr.n.Step.Action.String(), Status: status,
			Items: copyCounts(nr.counts), Message: nr.failMsg, Duration: r.e.Clock.Since(nr.started)})
	}
	r.release(nr, status)
}

// endNode ends a step that never ran a unit (skipped, cancelled, or failed
// while evaluating when or for_each).
func (r *run) endNode(nr *nodeRun, status StepStatus, msg string) {
	r.pending = append(r.pending, &state.Record{Type: recordFor(status), Step: nr.n.Addr, Message: msg})
	r.emit(Event{Type: EventStepFinished, Step: nr.n.Addr, Action: nr.n.Step.Action.String(), Status: status, Message: msg})
	r.release(nr, status)
}

// release marks a step ended and readies the dependents it was the last
// wait of.
func (r *run) release(nr *nodeRun, status StepStatus) {
	nr.status = status
	for _, d := range nr.n.Dependents {
		dep := r.nodes[d]
		if dep.n.Finally() != nr.n.Finally() {
			continue // finally steps wait for the phase, not for regular steps
		}
		if dep.waiting--; dep.waiting == 0 {
			r.ready = append(r.ready, dep)
		}
	}
}

func recordFor(s StepStatus) state.RecordType {
	switch s {
	case Succeeded:
		return state.StepSucceeded
	case Failed:
		return state.StepFailed
	case Skipped:
		return state.StepSkipped
	}
	return state.StepCancelled
}

func copyCounts(m map[StepStatus]int) map[StepStatus]int {
	out := make(map[StepStatus]int, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// finish evaluates the outputs, writes the run's end and returns the result.
func (r *run) finish() (*Result, error) {
	status := RunFinished
	for _, nr := range r.nodes {
		switch nr.status {
		case Failed:
			status = RunFailed
		case Cancelled:
			if status != RunFailed {
				status = RunCancelled
			}
		}
	}
	res := &Result{RunID: r.id, Status: status}
	r.scope.Run = cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal(r.id), "status": cty.StringVal(string(status))})
	outs, vals := r.outputs(status == RunFinished)
	res.Outputs = outs
	var recs []*state.Record
	if len(vals) > 0 {
		enc, err := encodeValues(vals, r.e.Sealer)
		if err != nil {
			return nil, err
		}
		recs = append(recs, &state.Record{Type: state.RunOutputs, Values: enc})
	}
	recs = append(recs, &state.Record{Type: state.RunEnded, Status: string(status)})
	r.secrets.scrubRecords(recs)
	if err := r.journal.Append(context.Background(), recs...); err != nil {
		return nil, fmt.Errorf("%w: %v", errJournal, err)
	}
	res.Syncs = r.journal.Syncs()
	r.emit(Event{Type: EventRunEnded, RunStatus: status, Duration: r.e.Clock.Since(r.started), Syncs: res.Syncs})
	return res, nil
}

// outputs evaluates the runbook's outputs with every step's final values.
// After a failed or cancelled run, an output that cannot be evaluated
// (it reads a step that did not succeed) is left out: the step's own
// failure is the error to report, not the output's.
func (r *run) outputs(complete bool) ([]*PlannedValue, map[string]cty.Value) {
	names := make([]string, 0, len(r.cfg.Outputs))
	for name := range r.cfg.Outputs {
		names = append(names, name)
	}
	sort.Strings(names)
	var out []*PlannedValue
	vals := map[string]cty.Value{}
	for _, name := range names {
		o := r.cfg.Outputs[name]
		v, diags := r.scope.Eval(o.Value, cty.DynamicPseudoType, nil)
		if diags.HasErrors() {
			if complete {
				r.diags = append(r.diags, diags...)
			}
			continue
		}
		if o.Sensitive {
			v = v.Mark(dsl.SensitiveMark)
		}
		vals[name] = v
		out = append(out, renderValue(r.g, r.cfg, name, v, o.Value))
	}
	return out, vals
}

func (r *run) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = r.e.Clock.Now()
	}
	e.RunID, e.DryRun = r.id, r.opts.DryRun
	e.Message = r.secrets.scrub(e.Message)
	r.e.Observer.Event(e)
}

// diagMessage flattens diagnostics into a step's failure message.
func diagMessage(diags hcl.Diagnostics) string {
	var msg string
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if msg != "" {
			msg += "; "
		}
		if d.Subject != nil {
			msg += fmt.Sprintf("%s:%d:%d: ", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		}
		msg += d.Summary
		if d.Detail != "" {
			msg += ": " + d.Detail
		}
	}
	return msg
}

// evalWhen evaluates a when condition; a message means it failed. In a
// dry-run an unknown condition (it reads a predicted output) runs the
// step, so that the walk covers it.
func evalWhen(scope *dsl.Scope, e hcl.Expression, extra *dsl.Extra, dryRun bool) (bool, string) {
	v, diags := scope.Eval(e, cty.Bool, extra)
	if diags.HasErrors() {
		return false, diagMessage(diags)
	}
	v, _ = v.Unmark()
	if !v.IsKnown() {
		if dryRun {
			return true, ""
		}
		return false, "when is not known"
	}
	if v.IsNull() {
		return false, "when is null; it must be true or false"
	}
	return v.True(), ""
}
