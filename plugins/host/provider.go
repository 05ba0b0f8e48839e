package host

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// pluginProvider is one provider configuration served by a plugin
// process. The process starts on the first call; if it crashes, the calls
// in flight fail with a retryable "provider NAME crashed" error, and the
// next call starts a new process and configures it again.
type pluginProvider struct {
	h *Host
	r *resolution

	mu         sync.Mutex
	cur        *instance
	config     cty.Value
	configured bool
	closed     bool
}

var (
	_ provider.Provider  = (*pluginProvider)(nil)
	_ provider.Validator = (*pluginProvider)(nil)
	_ provider.Stopper   = (*pluginProvider)(nil)
)

// instance returns the running process, starting (or restarting) it and
// sending it the configuration as needed.
func (p *pluginProvider) instance(ctx context.Context) (*instance, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return nil, fmt.Errorf("provider %q is closed", p.r.name)
	}
	if p.cur != nil {
		if p.cur.alive() {
			return p.cur, nil
		}
		if !p.cur.dead.Load() {
			// It died between calls: no step saw it, so start it again
			// quietly, but say so.
			waitExited(p.cur.client, 2*time.Second)
			p.h.warn("provider plugin exited between calls; starting it again", "provider", p.r.name, "last", crashMessage(p.cur))
		}
		p.h.stop(p.cur)
		p.cur = nil
	}
	inst, err := p.h.launch(p.r.name, p.r.plugin.Path, p.r.sha)
	if err != nil {
		return nil, err
	}
	if p.configured {
		if err := inst.prov.Configure(ctx, p.config); err != nil {
			err = p.failed(ctx, inst, err)
			p.h.stop(inst)
			return nil, err
		}
	}
	p.cur = inst
	return inst, nil
}

// failed turns the error of a call into a crash error when the process
// died (or its connection broke) under it.
func (p *pluginProvider) failed(ctx context.Context, inst *instance, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && !inst.client.Exited() {
		return err // cancelled: the plugin is fine
	}
	if !inst.client.Exited() && status.Code(err) != codes.Unavailable {
		return err
	}
	// Wait for the process to end so that its last words are read.
	waitExited(inst.client, 2*time.Second)
	inst.dead.Store(true)
	return &provider.Error{Retryable: true, Message: crashMessage(inst)}
}

func crashMessage(inst *instance) string {
	msg := fmt.Sprintf("provider %s crashed", inst.name)
	if exit := inst.exitStatus(); exit != "" {
		msg += " (" + exit + ")"
	}
	lines := inst.stderr.last()
	if len(lines) == 0 {
		return msg + " without writing to stderr"
	}
	return msg + ": " + strings.Join(lines, "\n")
}

// Schema implements provider.Provider; it is served from the host's cache
// when the schema is known, without starting the plugin.
func (p *pluginProvider) Schema(ctx context.Context) (*dsl.ProviderSchema, error) {
	if s := p.h.cachedSchema(p.r); s != nil {
		return s, nil
	}
	inst, err := p.instance(ctx)
	if err != nil {
		return nil, err
	}
	s, err := inst.prov.Schema(ctx)
	if err != nil {
		return nil, p.failed(ctx, inst, err)
	}
	return s, nil
}

// Configure implements provider.Provider; the configuration is kept to
// configure a restarted process.
func (p *pluginProvider) Configure(ctx context.Context, config cty.Value) error {
	inst, err := p.instance(ctx)
	if err != nil {
		return err
	}
	if err := inst.prov.Configure(ctx, config); err != nil {
		return p.failed(ctx, inst, err)
	}
	p.mu.Lock()
	p.config, p.configured = config, true
	p.mu.Unlock()
	return nil
}

// Plan implements provider.Provider.
func (p *pluginProvider) Plan(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	inst, err := p.instance(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := inst.prov.Plan(ctx, req)
	if err != nil {
		return nil, p.failed(ctx, inst, err)
	}
	return resp, nil
}

// Apply implements provider.Provider.
func (p *pluginProvider) Apply(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	inst, err := p.instance(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := inst.prov.Apply(ctx, req)
	if err != nil {
		return nil, p.failed(ctx, inst, err)
	}
	return resp, nil
}

// Check implements provider.Provider.
func (p *pluginProvider) Check(ctx context.Context, req *provider.CheckRequest) (*provider.CheckResponse, error) {
	inst, err := p.instance(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := inst.prov.Check(ctx, req)
	if err != nil {
		return nil, p.failed(ctx, inst, err)
	}
	return resp, nil
}

// Validate implements provider.Validator.
func (p *pluginProvider) Validate(ctx context.Context, action string, inputs cty.Value) ([]provider.Diagnostic, error) {
	inst, err := p.instance(ctx)
	if err != nil {
		return nil, err
	}
	diags, err := inst.prov.Validate(ctx, action, inputs)
	if err != nil {
		return nil, p.failed(ctx, inst, err)
	}
	return diags, nil
}

// Stop implements provider.Stopper: it cancels the calls in flight; a
// plugin that is not running has nothing to stop.
func (p *pluginProvider) Stop(ctx context.Context) error {
	p.mu.Lock()
	inst := p.cur
	p.mu.Unlock()
	if inst == nil || !inst.alive() {
		return nil
	}
	return inst.prov.Stop(ctx)
}

// Close implements provider.Provider: it stops the plugin process (Stop,
// then go-plugin's shutdown, then a kill if it does not exit).
func (p *pluginProvider) Close() error {
	p.mu.Lock()
	inst := p.cur
	p.cur, p.closed = nil, true
	p.mu.Unlock()
	if inst != nil {
		p.h.stop(inst)
	}
	return nil
}

// pid is the plugin's process ID, 0 when none runs (for tests).
func (p *pluginProvider) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cur == nil {
		return 0
	}
	rc := p.cur.client.ReattachConfig()
	if rc == nil {
		return 0
	}
	return rc.Pid
}
