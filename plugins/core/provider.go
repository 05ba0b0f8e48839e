package core

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// Dependencies: the standard library covers every action (os/exec with
// process groups and WaitDelay, net/http and crypto/tls, crypto/sha256,
// atomic rename via google/renameio) but remote copies, which use
// golang.org/x/crypto/ssh and pkg/sftp through internal/sshcopy. JSON
// decoding into cty values uses go-cty's own cty/json package
// (ImpliedType + Unmarshal) rather than a hand-written mapping from
// encoding/json: it is the canonical conversion, and the engine already
// depends on go-cty.

// DefaultMaxOutput caps captured stdout, stderr and HTTP bodies when
// Options.MaxOutput is not set: 1 MiB.
const DefaultMaxOutput = 1 << 20

// Options configures the core provider.
type Options struct {
	// Approver asks an operator to confirm a core.approve gate and returns
	// who approved. When nil, core.approve refuses.
	Approver func(ctx context.Context, message string) (approvedBy string, err error)
	// MaxOutput caps the captured stdout and stderr of a command and the body
	// of an HTTP response, in bytes; DefaultMaxOutput when zero or negative.
	// Beyond it the first MaxOutput bytes are kept and a marker is appended.
	MaxOutput int
}

// Provider is the built-in core provider. It is safe for concurrent use:
// the engine runs several steps at once through one Provider.
type Provider struct {
	opts    Options
	schema  *dsl.ProviderSchema
	actions map[string]*action
}

var _ provider.Provider = (*Provider)(nil)

// action is one core action: its schema and what Plan, Apply and Check do.
type action struct {
	name   string
	schema *dsl.ActionSchema
	// plan predicts the outputs without side effects.
	plan func(ctx context.Context, c *call) (cty.Value, error)
	// apply performs the action.
	apply func(ctx context.Context, c *call) (cty.Value, error)
	// check reports whether an interrupted apply took effect, without side
	// effects; nil means it cannot be known (provider.Unknown).
	check func(ctx context.Context, c *call, started time.Time) (provider.CheckResult, cty.Value, error)
}

// New returns the core provider.
func New(opts Options) *Provider {
	if opts.MaxOutput <= 0 {
		opts.MaxOutput = DefaultMaxOutput
	}
	p := &Provider{opts: opts, schema: Schema()}
	p.actions = map[string]*action{
		"exec":      {plan: planExec, apply: applyExec, check: checkExec},
		"http":      {plan: planHTTP, apply: applyHTTP},
		"wait":      {plan: planWait, apply: applyWait, check: checkWait},
		"sleep":     {plan: planSleep, apply: applySleep, check: checkSleep},
		"approve":   {plan: planApprove, apply: applyApprove},
		"checksum":  {plan: planChecksum, apply: applyChecksum, check: checkChecksum},
		"file_copy": {plan: planFileCopy, apply: applyFileCopy, check: checkFileCopy},
	}
	for name, a := range p.actions {
		a.name = name
		a.schema = p.schema.Actions[name]
		if a.schema == nil {
			panic("core: action " + name + " has no schema")
		}
	}
	return p
}

// Schema implements provider.Provider.
func (p *Provider) Schema(context.Context) (*dsl.ProviderSchema, error) {
	return p.schema, nil
}

// Configure implements provider.Provider. core takes no configuration: it
// accepts a null or an empty object.
func (p *Provider) Configure(_ context.Context, config cty.Value) error {
	if config.IsNull() {
		return nil
	}
	if !config.IsKnown() {
		return provider.Errorf("core takes no configuration; got an unknown value")
	}
	ty := config.Type()
	if (ty.IsObjectType() || ty.IsMapType()) && config.LengthInt() == 0 {
		return nil
	}
	if ty.IsObjectType() {
		var names []string
		for name := range ty.AttributeTypes() {
			names = append(names, name)
		}
		sort.Strings(names)
		return provider.Errorf("core takes no configuration; got %s", strings.Join(names, ", "))
	}
	return provider.Errorf("core takes no configuration; got a %s", ty.FriendlyName())
}

// Close implements provider.Provider; core holds nothing to release.
func (p *Provider) Close() error { return nil }

// Plan implements provider.Provider: it validates the inputs and predicts
// the outputs without running, requesting, sleeping, copying or asking
// anything. Outputs it cannot know without side effects are unknown.
func (p *Provider) Plan(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	a, c, err := p.newCall(req)
	if err != nil {
		return nil, err
	}
	out, err := a.plan(ctx, c)
	if err != nil {
		return nil, c.finishErr(err)
	}
	if err := a.conform(out); err != nil {
		return nil, err
	}
	return &provider.Response{Outputs: out}, nil
}

// Apply implements provider.Provider.
func (p *Provider) Apply(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	a, c, err := p.newCall(req)
	if err != nil {
		return nil, err
	}
	if !c.in.IsWhollyKnown() {
		return nil, c.finishErr(provider.Errorf("core.%s: inputs contain unknown values at apply time", a.name))
	}
	out, err := a.apply(ctx, c)
	if err != nil {
		return nil, c.finishErr(err)
	}
	if err := a.conform(out); err != nil {
		return nil, err
	}
	return &provider.Response{Outputs: out}, nil
}

// Check implements provider.Provider. It never has side effects:
//   - sleep, checksum, file_copy and a wait on a URL look (at the clock, a
//     file, one GET) and answer Applied with the outputs, or NotApplied:
//     they have no effect of their own, or (file_copy) an atomic one, so
//     when it is not in place nothing happened;
//   - a wait on a command is NotApplied: waiting is observing, re-run it;
//   - exec with idempotent = true is NotApplied: the author declared that
//     running it again is safe, which is what the engine does with it;
//   - other execs, http and approve are Unknown: the engine asks the
//     operator.
func (p *Provider) Check(ctx context.Context, req *provider.CheckRequest) (*provider.CheckResponse, error) {
	if req == nil {
		return nil, provider.Errorf("core: nil request")
	}
	a, c, err := p.newCall(&req.Request)
	if err != nil {
		return nil, err
	}
	unknown := &provider.CheckResponse{Result: provider.Unknown, Outputs: cty.NullVal(a.schema.OutputType())}
	if a.check == nil || !c.in.IsWhollyKnown() {
		return unknown, nil
	}
	result, out, err := a.check(ctx, c, req.Started)
	if err != nil {
		return nil, c.finishErr(err)
	}
	if result != provider.Applied {
		return &provider.CheckResponse{Result: result, Outputs: cty.NullVal(a.schema.OutputType())}, nil
	}
	if err := a.conform(out); err != nil {
		return nil, err
	}
	return &provider.CheckResponse{Result: provider.Applied, Outputs: out}, nil
}

// conform makes sure out is an object of the action's output type. The
// "json" outputs are of type cty.DynamicPseudoType: a value stored there
// has its own concrete type, so the check is conformance, not equality.
func (a *action) conform(out cty.Value) error {
	want := a.schema.OutputType()
	if errs := out.Type().TestConformance(want); len(errs) > 0 {
		return provider.Errorf("core.%s: internal error: outputs of type %s do not conform to %s: %v",
			a.name, out.Type().FriendlyName(), want.FriendlyName(), errors.Join(errs...))
	}
	return nil
}

func (p *Provider) newCall(req *provider.Request) (*action, *call, error) {
	if req == nil {
		return nil, nil, provider.Errorf("core: nil request")
	}
	name := strings.TrimPrefix(req.Action, "core.")
	a := p.actions[name]
	if a == nil {
		return nil, nil, provider.Errorf("core has no action %q", req.Action)
	}
	c := &call{p: p, action: a, events: req.Events}
	c.red = newRedactor(req.Inputs, append(schemaSecrets(a), req.SensitivePaths...))
	in, err := normalizeInputs(a, req.Inputs)
	if err != nil {
		return nil, nil, c.finishErr(err)
	}
	c.in = in
	return a, c, nil
}

// schemaSecrets are the inputs the action's schema marks sensitive. They
// are hidden even when the engine did not mark the value (it marks values
// that come from sensitive variables), such as a password written as a
// literal.
func schemaSecrets(a *action) []cty.Path {
	var paths []cty.Path
	for _, name := range a.schema.Inputs.SensitivePaths() {
		paths = append(paths, cty.GetAttrPath(name))
	}
	return paths
}

// normalizeInputs returns an object with every input attribute of the
// action, converted to its schema type; missing attributes are null. Marks
// are removed: sensitivity is tracked by the call's redactor.
func normalizeInputs(a *action, in cty.Value) (cty.Value, error) {
	in, _ = in.UnmarkDeep()
	attrs := a.schema.Inputs.Attributes
	if in.IsNull() {
		in = cty.EmptyObjectVal
	}
	ty := in.Type()
	if !in.IsKnown() {
		return cty.UnknownVal(a.schema.Inputs.ImpliedType()), nil
	}
	if !ty.IsObjectType() && !ty.IsMapType() {
		return cty.NilVal, provider.Errorf("core.%s: inputs must be an object, got %s", a.name, ty.FriendlyName())
	}
	vals := make(map[string]cty.Value, len(attrs))
	for name, as := range attrs {
		v := cty.NullVal(as.Type)
		if (ty.IsObjectType() && ty.HasAttribute(name)) || (ty.IsMapType() && in.HasIndex(cty.StringVal(name)).True()) {
			var raw cty.Value
			if ty.IsObjectType() {
				raw = in.GetAttr(name)
			} else {
				raw = in.Index(cty.StringVal(name))
			}
			conv, err := convert.Convert(raw, as.Type)
			if err != nil {
				return cty.NilVal, &provider.Error{
					Message:   fmt.Sprintf("core.%s: input %q: %s", a.name, name, err),
					Attribute: cty.GetAttrPath(name),
				}
			}
			v = conv
		}
		if as.Required && v.IsKnown() && v.IsNull() {
			return cty.NilVal, &provider.Error{
				Message:   fmt.Sprintf("core.%s: the input %q is required", a.name, name),
				Attribute: cty.GetAttrPath(name),
			}
		}
		vals[name] = v
	}
	return cty.ObjectVal(vals), nil
}

// call is one Plan, Apply or Check of an action.
type call struct {
	p      *Provider
	action *action
	in     cty.Value
	red    *redactor

	mu     sync.Mutex // serialises events: stdout and stderr are read concurrently
	events func(provider.Event)
}

func (c *call) get(name string) cty.Value {
	if !c.in.IsKnown() {
		return cty.UnknownVal(c.action.schema.Inputs.Attributes[name].Type)
	}
	return c.in.GetAttr(name)
}

// known reports whether the input is wholly known (it may be null).
func (c *call) known(name string) bool { return c.get(name).IsWhollyKnown() }

// isKnownSet reports whether the input is known and not null.
func (c *call) isKnownSet(name string) bool {
	v := c.get(name)
	return v.IsKnown() && !v.IsNull()
}

// str returns a known, non-null string input.
func (c *call) str(name string) (string, bool) {
	v := c.get(name)
	if !v.IsKnown() || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}

// boolean returns a bool input; null and unknown are false.
func (c *call) boolean(name string) bool {
	v := c.get(name)
	return v.IsKnown() && !v.IsNull() && v.True()
}

// strList returns a wholly known, non-null list of strings.
func (c *call) strList(name string) ([]string, bool, error) {
	v := c.get(name)
	if !v.IsWhollyKnown() || v.IsNull() {
		return nil, false, nil
	}
	out := make([]string, 0, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			return nil, false, attrErr(cty.GetAttrPath(name).Index(k), "element %s of %q is null", k.AsBigFloat().Text('f', -1), name)
		}
		out = append(out, e.AsString())
	}
	return out, true, nil
}

// strMap returns a wholly known, non-null map of strings.
func (c *call) strMap(name string) (map[string]string, bool, error) {
	v := c.get(name)
	if !v.IsWhollyKnown() || v.IsNull() {
		return nil, false, nil
	}
	out := make(map[string]string, v.LengthInt())
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		if e.IsNull() {
			return nil, false, attrErr(cty.GetAttrPath(name).Index(k), "%q[%q] is null", name, k.AsString())
		}
		out[k.AsString()] = e.AsString()
	}
	return out, true, nil
}

// intList returns a wholly known, non-null list of whole numbers.
func (c *call) intList(name string) ([]int, bool, error) {
	v := c.get(name)
	if !v.IsWhollyKnown() || v.IsNull() {
		return nil, false, nil
	}
	var out []int
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		path := cty.GetAttrPath(name).Index(k)
		if e.IsNull() {
			return nil, false, attrErr(path, "an element of %q is null", name)
		}
		bf := e.AsBigFloat()
		i, acc := bf.Int64()
		if !bf.IsInt() || acc != 0 || i < -1<<31 || i > 1<<31-1 {
			return nil, false, attrErr(path, "%q must hold whole numbers, got %s", name, bf.Text('g', -1))
		}
		out = append(out, int(i))
	}
	return out, true, nil
}

// duration parses a Go duration input. It returns def when the input is
// null, and known=false when it is unknown.
func (c *call) duration(name string, def time.Duration) (d time.Duration, known bool, err error) {
	v := c.get(name)
	if !v.IsKnown() {
		return 0, false, nil
	}
	if v.IsNull() {
		return def, true, nil
	}
	d, err = time.ParseDuration(strings.TrimSpace(v.AsString()))
	if err != nil {
		return 0, true, attrErr(cty.GetAttrPath(name), "%q is not a duration such as \"30s\" or \"5m\": %q", name, v.AsString())
	}
	if d < 0 {
		return 0, true, attrErr(cty.GetAttrPath(name), "%q must not be negative, got %s", name, v.AsString())
	}
	return d, true, nil
}

// log sends a log line, with sensitive values redacted.
func (c *call) log(level, format string, args ...any) {
	if c.events == nil {
		return
	}
	msg := c.red.Redact(fmt.Sprintf(format, args...))
	c.emit(provider.Event{Kind: provider.EventLog, Level: level, Message: msg})
}

// progress reports done out of total units.
func (c *call) progress(done, total int64, unit string) {
	if c.events == nil {
		return
	}
	c.emit(provider.Event{Kind: provider.EventProgress, Done: done, Total: total, Unit: unit})
}

func (c *call) emit(ev provider.Event) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.events(ev)
}

// finishErr returns err as a *provider.Error with every sensitive input
// value redacted from its text. The redacted error no longer wraps the
// original (whose text may hold secrets), except for a context error,
// which stays reachable with errors.Is.
func (c *call) finishErr(err error) error {
	pe, ok := err.(*provider.Error)
	if !ok {
		pe = &provider.Error{Err: err}
		var inner *provider.Error
		if errors.As(err, &inner) {
			pe.Retryable, pe.Attribute = inner.Retryable, inner.Attribute
		}
	}
	if c == nil || c.red.Empty() {
		return pe
	}
	out := &provider.Error{Retryable: pe.Retryable, Attribute: pe.Attribute}
	msg := pe.Error()
	for _, ce := range []error{context.Canceled, context.DeadlineExceeded} {
		if errors.Is(err, ce) {
			out.Err = ce
			msg = strings.TrimSuffix(msg, ": "+ce.Error())
		}
	}
	out.Message = c.red.Redact(msg)
	return out
}

// attrErr is a non-retryable error about one input.
func attrErr(path cty.Path, format string, args ...any) *provider.Error {
	return &provider.Error{Message: fmt.Sprintf(format, args...), Attribute: path}
}

// ctxError reports that ctx ended while doing what. A deadline is
// retryable (an attempt timed out); a cancellation is not.
func ctxError(ctx context.Context, what string) *provider.Error {
	err := ctx.Err()
	verb := "cancelled"
	if errors.Is(err, context.DeadlineExceeded) {
		verb = "timed out"
	}
	msg := what + " " + verb
	if cause := context.Cause(ctx); cause != nil && cause != err {
		msg += " (" + cause.Error() + ")"
	}
	return &provider.Error{Message: msg, Retryable: errors.Is(err, context.DeadlineExceeded), Err: err}
}

// sleepCtx waits for d or until ctx ends, whichever comes first.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// unknownOutputs is the plan of an action whose outputs are all unknown.
func unknownOutputs(c *call) cty.Value {
	return cty.UnknownVal(c.action.schema.OutputType())
}
