// Command testplugin is a provider plugin for the host's tests: it
// serves provider.Provider directly through go-plugin, as the SDK will.
//
// Actions: noop; echo (value -> value, greeting from the configuration,
// pid); sleep_until_cancel (writes "started" to marker, blocks until its
// context is cancelled, then writes "cancelled"); crash (writes message to
// stderr and exits with status 3; with once_marker, only when that file
// does not exist yet, which it creates). The version is main.version (set with
// -ldflags -X) unless RUNBOOK_TESTPLUGIN_VERSION overrides it.
package main

import (
	"context"
	"fmt"
	"os"
	"sync"

	"github.com/hashicorp/go-plugin"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/grpcplugin"
	"github.com/runbook-dev/runbook/plugins/provider"
)

var version = "0.1.0"

// stderr is the process's real standard error: once serving, go-plugin
// points os.Stderr at a pipe it streams to the host.
var stderr = os.Stderr

type testProvider struct {
	mu       sync.Mutex
	greeting string
}

func schema() *dsl.ProviderSchema {
	v := version
	if env := os.Getenv("RUNBOOK_TESTPLUGIN_VERSION"); env != "" {
		v = env
	}
	str := func(req bool) *dsl.AttributeSchema { return &dsl.AttributeSchema{Type: cty.String, Required: req} }
	return &dsl.ProviderSchema{
		Version: v,
		Config:  &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{"greeting": str(false)}},
		Actions: map[string]*dsl.ActionSchema{
			"noop": {Description: "Does nothing.", Inputs: &dsl.BlockSchema{}, Idempotent: true},
			"echo": {Description: "Returns its value.", Inputs: &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{"value": str(true)}},
				Outputs: map[string]cty.Type{"value": cty.String, "greeting": cty.String, "pid": cty.Number}, Idempotent: true},
			"sleep_until_cancel": {Description: "Blocks until cancelled.", Inputs: &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{"marker": str(true)}}},
			"crash": {Description: "Exits with status 3 (only the first time, with once_marker).", Inputs: &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{
				"message": str(false), "once_marker": str(false)}}, Mutating: true},
		},
	}
}

func (p *testProvider) Schema(context.Context) (*dsl.ProviderSchema, error) { return schema(), nil }

func (p *testProvider) Configure(_ context.Context, config cty.Value) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.greeting = ""
	if !config.IsNull() && config.Type().IsObjectType() && config.Type().HasAttribute("greeting") {
		if g := config.GetAttr("greeting"); !g.IsNull() {
			p.greeting = g.AsString()
		}
	}
	return nil
}

func str(v cty.Value, attr string) string {
	if v.IsNull() || !v.Type().IsObjectType() || !v.Type().HasAttribute(attr) {
		return ""
	}
	a := v.GetAttr(attr)
	if a.IsNull() || !a.IsKnown() {
		return ""
	}
	return a.AsString()
}

func (p *testProvider) Plan(_ context.Context, req *provider.Request) (*provider.Response, error) {
	if req.Action == "echo" {
		return &provider.Response{Outputs: cty.ObjectVal(map[string]cty.Value{
			"value": req.Inputs.GetAttr("value"), "greeting": cty.UnknownVal(cty.String), "pid": cty.UnknownVal(cty.Number)})}, nil
	}
	return &provider.Response{Outputs: cty.EmptyObjectVal}, nil
}

func (p *testProvider) Apply(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	switch req.Action {
	case "noop":
		return &provider.Response{Outputs: cty.EmptyObjectVal}, nil
	case "echo":
		p.mu.Lock()
		g := p.greeting
		p.mu.Unlock()
		return &provider.Response{Outputs: cty.ObjectVal(map[string]cty.Value{
			"value": cty.StringVal(str(req.Inputs, "value")), "greeting": cty.StringVal(g), "pid": cty.NumberIntVal(int64(os.Getpid()))})}, nil
	case "sleep_until_cancel":
		marker := str(req.Inputs, "marker")
		if err := os.WriteFile(marker, []byte("started"), 0o644); err != nil {
			return nil, err
		}
		<-ctx.Done()
		_ = os.WriteFile(marker, []byte("cancelled"), 0o644)
		return nil, ctx.Err()
	case "crash":
		if once := str(req.Inputs, "once_marker"); once != "" {
			if _, err := os.Stat(once); err == nil {
				return &provider.Response{Outputs: cty.EmptyObjectVal}, nil
			}
			_ = os.WriteFile(once, nil, 0o644)
		}
		msg := str(req.Inputs, "message")
		if msg == "" {
			msg = "the test plugin crashes on purpose"
		}
		fmt.Fprintln(stderr, msg)
		os.Exit(3)
	}
	return nil, provider.Errorf("unknown action %q", req.Action)
}

func (p *testProvider) Check(context.Context, *provider.CheckRequest) (*provider.CheckResponse, error) {
	return &provider.CheckResponse{Result: provider.Unknown}, nil
}

func (p *testProvider) Close() error { return nil }

func main() {
	impl := &testProvider{}
	plugin.Serve(&plugin.ServeConfig{
		HandshakeConfig:  grpcplugin.Handshake,
		VersionedPlugins: grpcplugin.VersionedPlugins(impl),
		GRPCServer:       plugin.DefaultGRPCServer,
	})
}
