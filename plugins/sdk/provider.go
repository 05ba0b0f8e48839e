package sdk

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"
	"sync"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// Provider is a provider built from typed actions. Set its fields, register
// its actions with Action, then Serve it (or use it in-process: it is a
// provider.Provider). It is safe for concurrent use once serving: the
// engine runs several steps at once.
type Provider struct {
	// Name is the provider's name in runbooks (the "hello" of hello.greet)
	// and in its binary's name, runbook-provider-NAME.
	Name string
	// Version is the provider's version, reported in its schema.
	Version string
	// Config declares the provider block's configuration; nil when the
	// provider takes none.
	Config ConfigDef

	// Logger receives the SDK's own diagnostics (a recovered panic's
	// stack). Serve sets it to a logger on stderr, which go-plugin forwards
	// to the host; in-process it defaults to hclog's default logger.
	Logger hclog.Logger

	mu         sync.Mutex
	actions    map[string]*action
	ready      bool
	readyErr   error
	schema     *dsl.ProviderSchema
	config     *configDef
	configured bool
	inflight   map[int]context.CancelFunc
	next       int
}

var (
	_ provider.Provider = (*Provider)(nil)
	_ provider.Stopper  = (*Provider)(nil)
)

// Action registers an action under name. It panics when the definition is
// wrong (a bad tag, a name used twice, no Apply): mistakes a provider's
// first test run finds. Register every action before serving.
func (p *Provider) Action(name string, def ActionDef) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready {
		panic(fmt.Sprintf("sdk: provider %s: action %s registered after the provider started serving", p.Name, name))
	}
	if !hclsyntax.ValidIdentifier(name) {
		panic(fmt.Sprintf("sdk: provider %s: %q is not a valid action name", p.Name, name))
	}
	if p.actions[name] != nil {
		panic(fmt.Sprintf("sdk: provider %s: action %s is registered twice", p.Name, name))
	}
	if def == nil {
		panic(fmt.Sprintf("sdk: provider %s: action %s has no definition", p.Name, name))
	}
	a, err := def.build(name)
	if err != nil {
		panic(fmt.Sprintf("sdk: provider %s: %v", p.Name, err))
	}
	if p.actions == nil {
		p.actions = map[string]*action{}
	}
	p.actions[name] = a
}

// prepare freezes the provider on first use: it builds the configuration
// and the schema.
func (p *Provider) prepare() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ready {
		return p.readyErr
	}
	p.ready = true
	p.readyErr = p.build()
	return p.readyErr
}

func (p *Provider) build() error {
	if p.Name == "" || !hclsyntax.ValidIdentifier(p.Name) {
		return fmt.Errorf("sdk: provider name %q is not a valid name", p.Name)
	}
	if p.Logger == nil {
		p.Logger = hclog.Default().Named(p.Name)
	}
	p.schema = &dsl.ProviderSchema{Version: p.Version, Actions: map[string]*dsl.ActionSchema{}}
	p.config = &configDef{si: &structInfo{ty: cty.EmptyObject}}
	if p.Config != nil {
		c, err := p.Config.build()
		if err != nil {
			return fmt.Errorf("sdk: provider %s: %w", p.Name, err)
		}
		p.config = c
	}
	p.schema.Config = p.config.si.blockSchema()
	for name, a := range p.actions {
		p.schema.Actions[name] = a.schema
	}
	p.inflight = map[int]context.CancelFunc{}
	return nil
}

// Schema implements provider.Provider.
func (p *Provider) Schema(context.Context) (*dsl.ProviderSchema, error) {
	if err := p.prepare(); err != nil {
		return nil, err
	}
	return p.schema, nil
}

// Configure implements provider.Provider: it decodes the configuration
// into the ConfigOf struct and calls its function.
func (p *Provider) Configure(ctx context.Context, config cty.Value) error {
	if err := p.prepare(); err != nil {
		return err
	}
	if config == cty.NilVal {
		config = cty.NullVal(p.config.si.ty)
	}
	red := newRedactor(config, nil, p.config.si)
	config, _ = config.UnmarkDeep()
	err := p.configure(ctx, config, red)
	if err != nil {
		return toProviderError(err, red, p.Name)
	}
	p.mu.Lock()
	p.configured = true
	p.mu.Unlock()
	return nil
}

func (p *Provider) configure(ctx context.Context, config cty.Value, red *redactor) error {
	v, err := p.config.si.coerce(config, nil, "config")
	if err != nil {
		return err
	}
	if !v.IsWhollyKnown() {
		return fmt.Errorf("the configuration has values that are not known yet")
	}
	if p.config.configure == nil {
		return nil
	}
	ctx, done := p.track(ctx)
	defer done()
	return p.protect(red, func() error { return p.config.configure(ctx, v) })
}

// call is what Plan, Apply and Check share: the action, its inputs
// coerced to the schema, and the redactor for its messages.
type call struct {
	a      *action
	in     cty.Value
	red    *redactor
	prefix string
}

func (p *Provider) begin(req *provider.Request) (*call, error) {
	if err := p.prepare(); err != nil {
		return nil, err
	}
	if req == nil {
		return nil, provider.Errorf("%s: nil request", p.Name)
	}
	name := strings.TrimPrefix(req.Action, p.Name+".")
	a := p.actions[name]
	if a == nil {
		return nil, provider.Errorf("%s has no action %q", p.Name, req.Action)
	}
	c := &call{a: a, prefix: p.Name + "." + name}
	inputs := req.Inputs
	if inputs == cty.NilVal {
		inputs = cty.NullVal(a.in.ty)
	}
	c.red = newRedactor(inputs, req.SensitivePaths, a.in)
	inputs, _ = inputs.UnmarkDeep()
	p.mu.Lock()
	configured := p.configured || p.Config == nil
	p.mu.Unlock()
	if !configured {
		return nil, c.fail(fmt.Errorf("the provider is not configured: Configure must be called first"))
	}
	in, err := a.in.coerce(inputs, nil, "input")
	if err != nil {
		return nil, c.fail(err)
	}
	c.in = in
	return c, nil
}

func (c *call) fail(err error) error { return toProviderError(err, c.red, c.prefix) }

// Plan implements provider.Provider. With unknown inputs, or no Plan
// function, every output is unknown and the action's code is not called.
func (p *Provider) Plan(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	c, err := p.begin(req)
	if err != nil {
		return nil, err
	}
	if c.a.plan == nil || !c.in.IsWhollyKnown() {
		return &provider.Response{Outputs: c.a.unknownOutputs()}, nil
	}
	ctx, done := p.track(ctx)
	defer done()
	var out cty.Value
	err = p.protect(c.red, func() (err error) { out, err = c.a.plan(ctx, c.in); return err })
	if err != nil {
		return nil, c.fail(err)
	}
	return &provider.Response{Outputs: out}, nil
}

// Apply implements provider.Provider.
func (p *Provider) Apply(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	c, err := p.begin(req)
	if err != nil {
		return nil, err
	}
	if !c.in.IsWhollyKnown() {
		return nil, c.fail(fmt.Errorf("inputs contain unknown values at apply time"))
	}
	ctx, done := p.track(ctx)
	defer done()
	rep := newReporter(req.Events, c.red)
	defer rep.close()
	var out cty.Value
	err = p.protect(c.red, func() (err error) { out, err = c.a.apply(ctx, c.in, rep); return err })
	if err != nil {
		return nil, c.fail(err)
	}
	return &provider.Response{Outputs: out}, nil
}

// Check implements provider.Provider. Without a Check function, or with
// unknown inputs, the answer is Unknown.
func (p *Provider) Check(ctx context.Context, req *provider.CheckRequest) (*provider.CheckResponse, error) {
	if req == nil {
		return nil, provider.Errorf("%s: nil request", p.Name)
	}
	c, err := p.begin(&req.Request)
	if err != nil {
		return nil, err
	}
	unknown := &provider.CheckResponse{Result: Unknown, Outputs: cty.NullVal(c.a.out.ty)}
	if c.a.check == nil || !c.in.IsWhollyKnown() {
		return unknown, nil
	}
	ctx, done := p.track(ctx)
	defer done()
	var (
		res CheckResult
		out cty.Value
	)
	err = p.protect(c.red, func() (err error) { res, out, err = c.a.check(ctx, c.in, req.Started); return err })
	if err != nil {
		return nil, c.fail(err)
	}
	switch res {
	case Applied, NotApplied, Unknown:
	default:
		return nil, c.fail(fmt.Errorf("Check returned an invalid result %d", res))
	}
	return &provider.CheckResponse{Result: res, Outputs: out}, nil
}

// Stop implements provider.Stopper: it cancels the context of every call in
// flight.
func (p *Provider) Stop(context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, cancel := range p.inflight {
		cancel()
	}
	return nil
}

// Close implements provider.Provider. It cancels any call still in
// flight.
func (p *Provider) Close() error { return p.Stop(context.Background()) }

// track derives a context that Stop cancels.
func (p *Provider) track(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	p.mu.Lock()
	id := p.next
	p.next++
	p.inflight[id] = cancel
	p.mu.Unlock()
	return ctx, func() {
		p.mu.Lock()
		delete(p.inflight, id)
		p.mu.Unlock()
		cancel()
	}
}

// protect turns a panic in the author's code into an error (and its stack
// into a log entry), so that one bad call does not take down every step
// the provider is serving.
func (p *Provider) protect(red *redactor, f func() error) (err error) {
	defer func() {
		if x := recover(); x != nil {
			p.Logger.Error("panic in provider code", "panic", red.Redact(fmt.Sprint(x)), "stack", string(debug.Stack()))
			err = fmt.Errorf("internal error in the provider: panic: %v", x)
		}
	}()
	return f()
}
