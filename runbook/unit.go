package runbook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/jonboulle/clockwork"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// runUnit runs one step or item to its end: condition, inputs, gate,
// preconditions, attempts with retries, postconditions. It never panics on
// bad input: every problem becomes the unit's failure message.
func (r *run) runUnit(u *unit) *unitResult {
	n := u.nr.n
	s := n.Step
	res := &unitResult{u: u, status: Failed}
	scope := scopeFor(r.scope, n.Config.Path)
	ctx := r.unitsCtx
	if s.When != nil && exprUsesEach(s.When) {
		ok, msg := evalWhen(scope, s.When, u.each, r.opts.DryRun)
		if msg != "" || !ok {
			res.status, res.message = Skipped, "when is false"
			if msg != "" {
				res.status, res.message = Failed, msg
			}
			return res
		}
	}
	as := r.actionSchema(s)
	inputs, diags := scope.StepInputs(s, as, u.each)
	if diags.HasErrors() {
		res.message = diagMessage(diags)
		return res
	}
	r.secrets.add(inputs)
	policy, timeout, msg := r.stepPolicy(scope, s, as, u.each)
	if msg != "" {
		res.message = msg
		return res
	}
	r.emit(Event{Type: EventStepStarted, Step: u.addr, Action: s.Action.String(), Attempts: policy.attempts})
	if msg := r.gate(ctx, u, scope, inputs); msg != "" {
		res.message = msg
		return res
	}
	for _, chk := range s.Preconditions {
		if d := scope.EvalCheck(chk, u.each, "Precondition failed"); d.HasErrors() {
			res.message = diagMessage(d)
			return res
		}
	}
	p, err := r.provs.get(ctx, n)
	if err != nil {
		res.message = err.Error()
		return res
	}
	out, adopted, msg := r.interrupted(ctx, u, p, as, inputs)
	if msg != "" {
		res.message, res.interrupted = msg, true
		return res
	}
	attempts := 0
	if !adopted {
		out, attempts, err = r.attempts(ctx, u, p, as, inputs, policy, timeout)
	}
	res.attempts = attempts
	switch {
	case ctx.Err() != nil:
		res.status, res.message = Cancelled, "cancelled"
		return res
	case err != nil:
		res.message = err.Error()
		return res
	}
	self := &dsl.Extra{Self: out}
	if u.each != nil {
		self.Each = u.each.Each
	}
	for _, chk := range s.Postconditions {
		if d := scope.EvalCheck(chk, self, "Postcondition failed"); d.HasErrors() {
			res.message = diagMessage(d)
			return res
		}
	}
	r.secrets.add(out)
	res.status, res.outputs = Succeeded, out
	return res
}

func (r *run) actionSchema(s *dsl.Step) *dsl.ActionSchema {
	if r.e.Schemas == nil {
		return nil
	}
	ps, ok := r.e.Schemas.ProviderSchema(s.Action.Provider)
	if !ok {
		return nil
	}
	return ps.Actions[s.Action.Action]
}

// stepPolicy evaluates the retry block and the attempt timeout.
func (r *run) stepPolicy(scope *dsl.Scope, s *dsl.Step, as *dsl.ActionSchema, each *dsl.Extra) (retryPolicy, time.Duration, string) {
	p := retryPolicy{attempts: 1, delay: time.Second, backoff: 2}
	var timeout time.Duration
	if s.Timeout != nil && !dsl.TimeoutIsInput(as) {
		d, msg := evalDurationMsg(scope, s.Timeout, each)
		if msg != "" {
			return p, 0, msg
		}
		timeout = d
	}
	rt := s.Retry
	if rt == nil {
		return p, timeout, ""
	}
	p.attempts = 3
	if rt.Attempts != nil {
		n, msg := evalNumber(scope, rt.Attempts, each)
		if msg != "" {
			return p, 0, msg
		}
		p.attempts = max(1, int(n))
	}
	if rt.Backoff != nil {
		n, msg := evalNumber(scope, rt.Backoff, each)
		if msg != "" {
			return p, 0, msg
		}
		p.backoff = max(1, n)
	}
	for _, d := range []struct {
		expr hcl.Expression
		dst  *time.Duration
	}{{rt.Delay, &p.delay}, {rt.MaxDelay, &p.maxDelay}} {
		if d.expr == nil {
			continue
		}
		v, msg := evalDurationMsg(scope, d.expr, each)
		if msg != "" {
			return p, 0, msg
		}
		*d.dst = v
	}
	return p, timeout, ""
}

// gate asks for confirmation when the step has `confirm`, unless the run
// is auto-approved or a dry-run. A refusal fails the step.
func (r *run) gate(ctx context.Context, u *unit, scope *dsl.Scope, _ cty.Value) string {
	c := u.nr.n.Step.Confirm
	if c == nil || r.opts.DryRun || r.opts.AutoApprove {
		return ""
	}
	v, diags := scope.Eval(c, cty.String, u.each)
	if diags.HasErrors() {
		return diagMessage(diags)
	}
	msg := Sensitive
	if uv, marks := v.Unmark(); len(marks) == 0 && uv.IsKnown() && !uv.IsNull() {
		msg = uv.AsString()
	}
	if r.e.Confirm == nil {
		return "needs confirmation (" + msg + "), and there is no terminal to ask: rerun with --auto-approve to allow it"
	}
	ok, err := r.e.Confirm(ctx, u.addr, msg)
	switch {
	case err != nil:
		return "confirmation failed: " + err.Error()
	case !ok:
		return "not confirmed by the operator"
	}
	return ""
}

// attempts calls the provider until success, a non-retryable error, or the
// last attempt. Each retry is journaled before it starts.
func (r *run) attempts(ctx context.Context, u *unit, p provider.Provider, as *dsl.ActionSchema,
	inputs cty.Value, policy retryPolicy, timeout time.Duration) (cty.Value, int, error) {
	raw, paths := unmarkInputs(inputs)
	req := &provider.Request{
		Action: u.nr.n.Step.Action.Action, Inputs: raw, SensitivePaths: paths, RunID: r.id, Step: u.addr,
		Events: func(ev provider.Event) { r.providerEvent(u, ev) },
	}
	for attempt := 1; ; attempt++ {
		out, err := r.call(ctx, p, as, req, timeout)
		if err == nil {
			return markOutputs(out, len(paths) > 0), attempt, nil
		}
		retry := attempt < policy.attempts && ctx.Err() == nil && (provider.Retryable(err) || errors.Is(err, context.DeadlineExceeded))
		r.emit(Event{Type: EventAttemptFailed, Step: u.addr, Attempt: attempt, Attempts: policy.attempts, Message: err.Error()})
		if !retry {
			return cty.NilVal, attempt, r.describe(u, err)
		}
		wait := policy.wait(attempt, r.e.Jitter())
		recs := []*state.Record{
			{Type: state.AttemptFailed, Step: u.addr, Attempt: attempt, Message: err.Error()},
			{Type: state.AttemptStarted, Step: u.addr, Attempt: attempt + 1},
		}
		select {
		case <-ctx.Done():
			return cty.NilVal, attempt, ctx.Err()
		case <-r.e.Clock.After(wait):
		}
		r.secrets.scrubRecords(recs)
		if jerr := r.journal.Append(context.WithoutCancel(ctx), recs...); jerr != nil {
			return cty.NilVal, attempt, fmt.Errorf("%w: %v", errJournal, jerr)
		}
		r.emit(Event{Type: EventAttemptStarted, Step: u.addr, Attempt: attempt + 1, Attempts: policy.attempts})
	}
}

// call makes one attempt: Plan in a dry-run, Apply otherwise, bounded by
// the attempt timeout.
func (r *run) call(ctx context.Context, p provider.Provider, as *dsl.ActionSchema, req *provider.Request, timeout time.Duration) (cty.Value, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = clockwork.WithTimeout(ctx, r.e.Clock, timeout)
		defer cancel()
	}
	var resp *provider.Response
	var err error
	switch {
	case !r.opts.DryRun:
		resp, err = p.Apply(ctx, req)
	case !req.Inputs.IsWhollyKnown():
		// Upstream predictions are unknown: the provider could not plan
		// with them, so the outputs are unknown too.
		return cty.UnknownVal(outputTypeOf(as)), nil
	default:
		resp, err = p.Plan(ctx, req)
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return cty.NilVal, fmt.Errorf("timed out after %s: %w", timeout, context.DeadlineExceeded)
		}
		return cty.NilVal, err
	}
	if resp == nil || resp.Outputs == cty.NilVal {
		return cty.EmptyObjectVal, nil
	}
	return resp.Outputs, nil
}

func outputTypeOf(as *dsl.ActionSchema) cty.Type {
	if as == nil {
		return cty.DynamicPseudoType
	}
	return as.OutputType()
}

// describe names the step's provider and action in a failure, unless the
// provider's message already starts with them.
func (r *run) describe(u *unit, err error) error {
	action := u.nr.n.Step.Action.String()
	if strings.HasPrefix(err.Error(), action) {
		return err
	}
	return fmt.Errorf("%s: %w", action, err)
}

// providerEvent relays a provider's log line or progress; emit scrubs
// secrets from its message.
func (r *run) providerEvent(u *unit, ev provider.Event) {
	kind := EventProgress
	if ev.Kind == provider.EventLog {
		kind = EventLog
	}
	e := ev
	r.emit(Event{Type: kind, Step: u.addr, Message: ev.Message, Progress: &e})
}

// unmarkInputs removes the sensitive marks before values cross to a
// provider and returns where they were. A null secret (an optional
// password left unset) holds nothing to hide, so it does not make the
// step's outputs sensitive.
func unmarkInputs(v cty.Value) (cty.Value, []cty.Path) {
	raw, pvm := v.UnmarkDeepWithPaths()
	var paths []cty.Path
	for _, pm := range pvm {
		if x, err := pm.Path.Apply(raw); err == nil && x.IsNull() {
			continue
		}
		paths = append(paths, pm.Path)
	}
	return raw, paths
}

// markOutputs marks every output sensitive when any input was: a command
// given a secret may echo it.
func markOutputs(out cty.Value, sensitive bool) cty.Value {
	if !sensitive || out.IsNull() || !out.Type().IsObjectType() || !out.IsKnown() {
		return out
	}
	attrs := out.AsValueMap()
	for k, v := range attrs {
		attrs[k] = v.Mark(dsl.SensitiveMark)
	}
	if len(attrs) == 0 {
		return out
	}
	return cty.ObjectVal(attrs)
}

// providerCache starts and configures each provider configuration once per
// run, on first use, and closes them all at the end.
type providerCache struct {
	factory ProviderFactory
	scope   *dsl.Scope
	mu      sync.Mutex
	entries map[string]*providerEntry
}

type providerEntry struct {
	once sync.Once
	p    provider.Provider
	err  error
}

func newProviderCache(f ProviderFactory, scope *dsl.Scope) *providerCache {
	return &providerCache{factory: f, scope: scope, entries: map[string]*providerEntry{}}
}

func (c *providerCache) get(ctx context.Context, n *Node) (provider.Provider, error) {
	key := strings.Join(n.Config.Path, ".") + "|" + n.Step.ProviderKey()
	c.mu.Lock()
	e := c.entries[key]
	if e == nil {
		e = &providerEntry{}
		c.entries[key] = e
	}
	c.mu.Unlock()
	e.once.Do(func() { e.p, e.err = c.start(ctx, n) })
	return e.p, e.err
}

func (c *providerCache) start(ctx context.Context, n *Node) (provider.Provider, error) {
	name := n.Step.Action.Provider
	if c.factory == nil {
		return nil, fmt.Errorf("provider %q is not available", name)
	}
	p, err := c.factory(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("provider %q: %w", name, err)
	}
	config := cty.EmptyObjectVal
	if pb := n.Config.Providers[n.Step.ProviderKey()]; pb != nil {
		scope := scopeFor(c.scope, n.Config.Path)
		var schema *dsl.BlockSchema
		if ps, err := p.Schema(ctx); err == nil && ps != nil {
			schema = ps.Config
		}
		v, diags := scope.DecodeBody(pb.Config, pb.ConfigRefs, schema, nil)
		if diags.HasErrors() {
			_ = p.Close()
			return nil, fmt.Errorf("provider %q configuration: %s", pb.Key(), diagMessage(diags))
		}
		config, _ = v.UnmarkDeep()
	}
	if err := p.Configure(ctx, config); err != nil {
		_ = p.Close()
		return nil, fmt.Errorf("provider %q: Configure: %w", name, err)
	}
	return p, nil
}

func (c *providerCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, e := range c.entries {
		if e.p != nil {
			_ = e.p.Close() // the run is over; a provider that fails to stop is killed with its process
		}
	}
}

func evalDurationMsg(scope *dsl.Scope, e hcl.Expression, each *dsl.Extra) (time.Duration, string) {
	v, diags := scope.Eval(e, cty.String, each)
	if diags.HasErrors() {
		return 0, diagMessage(diags)
	}
	v, _ = v.Unmark()
	if v.IsNull() || !v.IsKnown() {
		return 0, ""
	}
	d, err := dsl.ParseDuration(v.AsString())
	if err != nil {
		return 0, fmt.Sprintf("%s:%d:%d: %s", e.Range().Filename, e.Range().Start.Line, e.Range().Start.Column, err)
	}
	return d, ""
}

func evalNumber(scope *dsl.Scope, e hcl.Expression, each *dsl.Extra) (float64, string) {
	v, diags := scope.Eval(e, cty.Number, each)
	if diags.HasErrors() {
		return 0, diagMessage(diags)
	}
	v, _ = v.Unmark()
	if v.IsNull() || !v.IsKnown() {
		return 0, fmt.Sprintf("%s:%d:%d: a number is required", e.Range().Filename, e.Range().Start.Line, e.Range().Start.Column)
	}
	f, _ := v.AsBigFloat().Float64()
	return f, ""
}
