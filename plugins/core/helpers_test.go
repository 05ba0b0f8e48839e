package core_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// inputs builds an object of the action's input type, as the engine
// passes it: every attribute present, unset ones null.
func inputs(t *testing.T, action string, set map[string]cty.Value) cty.Value {
	t.Helper()
	as := core.Schema().Actions[action]
	if as == nil {
		t.Fatalf("no action %q", action)
	}
	vals := map[string]cty.Value{}
	for name, a := range as.Inputs.Attributes {
		vals[name] = cty.NullVal(a.Type)
	}
	for name, v := range set {
		a := as.Inputs.Attributes[name]
		if a == nil {
			t.Fatalf("core.%s has no input %q", action, name)
		}
		conv, err := convert.Convert(v, a.Type)
		if err != nil {
			t.Fatalf("input %s: %s", name, err)
		}
		vals[name] = conv
	}
	return cty.ObjectVal(vals)
}

func request(t *testing.T, action string, set map[string]cty.Value) *provider.Request {
	t.Helper()
	return &provider.Request{Action: action, Inputs: inputs(t, action, set), RunID: "run-1", Step: "step.test"}
}

func strs(ss ...string) cty.Value {
	if len(ss) == 0 {
		return cty.ListValEmpty(cty.String)
	}
	vals := make([]cty.Value, len(ss))
	for i, s := range ss {
		vals[i] = cty.StringVal(s)
	}
	return cty.ListVal(vals)
}

func nums(ns ...int) cty.Value {
	vals := make([]cty.Value, len(ns))
	for i, n := range ns {
		vals[i] = cty.NumberIntVal(int64(n))
	}
	return cty.ListVal(vals)
}

func strMap(kv ...string) cty.Value {
	m := map[string]cty.Value{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = cty.StringVal(kv[i+1])
	}
	return cty.MapVal(m)
}

// checkOutputType asserts that v is an object of the action's output type:
// the same attributes, each of the declared type, except that a "json"
// output (cty.DynamicPseudoType) holds a value of its own type.
func checkOutputType(t *testing.T, action string, v cty.Value) {
	t.Helper()
	want := core.Schema().Actions[action].OutputType()
	if errs := v.Type().TestConformance(want); len(errs) > 0 {
		t.Fatalf("outputs of type %#v do not conform to %#v: %v", v.Type(), want, errs)
	}
	if !v.Type().IsObjectType() || len(v.Type().AttributeTypes()) != len(want.AttributeTypes()) {
		t.Fatalf("outputs type %#v, want %#v", v.Type(), want)
	}
	for name, ty := range want.AttributeTypes() {
		if ty != cty.DynamicPseudoType && !v.Type().AttributeType(name).Equals(ty) {
			t.Fatalf("output %s is %#v, want %#v", name, v.Type().AttributeType(name), ty)
		}
	}
}

func apply(t *testing.T, p *core.Provider, r *provider.Request) (cty.Value, error) {
	t.Helper()
	resp, err := p.Apply(context.Background(), r)
	if err != nil {
		if resp != nil {
			t.Fatalf("Apply returned both a response and an error")
		}
		var pe *provider.Error
		if !errors.As(err, &pe) {
			t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
		}
		return cty.NilVal, err
	}
	checkOutputType(t, r.Action, resp.Outputs)
	return resp.Outputs, nil
}

func mustApply(t *testing.T, p *core.Provider, r *provider.Request) cty.Value {
	t.Helper()
	out, err := apply(t, p, r)
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	return out
}

func plan(t *testing.T, p *core.Provider, r *provider.Request) (cty.Value, error) {
	t.Helper()
	resp, err := p.Plan(context.Background(), r)
	if err != nil {
		return cty.NilVal, err
	}
	want := core.Schema().Actions[r.Action].OutputType()
	if !resp.Outputs.Type().Equals(want) {
		t.Fatalf("plan outputs type %#v, want exactly %#v", resp.Outputs.Type(), want)
	}
	return resp.Outputs, nil
}

// wantErr asserts err is a provider error with the retryable flag and
// containing each of the substrings.
func wantErr(t *testing.T, err error, retryable bool, contains ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one containing %q", contains)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
	}
	if got := provider.Retryable(err); got != retryable {
		t.Errorf("Retryable = %v, want %v (error: %v)", got, retryable, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
}

func str(t *testing.T, v cty.Value, attr string) string {
	t.Helper()
	a := v.GetAttr(attr)
	if !a.IsKnown() || a.IsNull() {
		t.Fatalf("output %s is %#v", attr, a)
	}
	return a.AsString()
}

func num(t *testing.T, v cty.Value, attr string) int64 {
	t.Helper()
	a := v.GetAttr(attr)
	if !a.IsKnown() || a.IsNull() {
		t.Fatalf("output %s is %#v", attr, a)
	}
	n, _ := a.AsBigFloat().Int64()
	return n
}

// events records a request's events; the provider may send them from
// several goroutines, but serialises them.
type events struct {
	mu  sync.Mutex
	all []provider.Event
}

func (e *events) add(ev provider.Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.all = append(e.all, ev)
}

func (e *events) logs() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.all {
		if ev.Kind == provider.EventLog {
			out = append(out, ev.Level+": "+ev.Message)
		}
	}
	return out
}

func (e *events) progress() []provider.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []provider.Event
	for _, ev := range e.all {
		if ev.Kind == provider.EventProgress {
			out = append(out, ev)
		}
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
