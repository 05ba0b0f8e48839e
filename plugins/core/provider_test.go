package core_test

import (
	"context"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/provider"
)

func TestSchema(t *testing.T) {
	p := core.New(core.Options{})
	s, err := p.Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"exec", "http", "wait", "sleep", "approve", "checksum", "file_copy"} {
		if s.Actions[name] == nil {
			t.Errorf("no action %s", name)
		}
	}
	if s.Version != core.Version {
		t.Errorf("version %q, want %q", s.Version, core.Version)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}

func TestConfigure(t *testing.T) {
	tests := []struct {
		name    string
		config  cty.Value
		wantErr bool
	}{
		{"null object", cty.NullVal(cty.EmptyObject), false},
		{"null dynamic", cty.NullVal(cty.DynamicPseudoType), false},
		{"empty object", cty.EmptyObjectVal, false},
		{"attributes", cty.ObjectVal(map[string]cty.Value{"x": cty.True}), true},
		{"string", cty.StringVal("x"), true},
		{"unknown", cty.UnknownVal(cty.EmptyObject), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := core.New(core.Options{}).Configure(context.Background(), tt.config)
			if (err != nil) != tt.wantErr {
				t.Errorf("Configure(%#v) = %v, want error %v", tt.config, err, tt.wantErr)
			}
		})
	}
}

func TestUnknownAction(t *testing.T) {
	p := core.New(core.Options{})
	for _, call := range []func() error{
		func() error { _, err := p.Plan(context.Background(), &provider.Request{Action: "nope"}); return err },
		func() error { _, err := p.Apply(context.Background(), &provider.Request{Action: "nope"}); return err },
		func() error {
			_, err := p.Check(context.Background(), &provider.CheckRequest{Request: provider.Request{Action: "nope"}})
			return err
		},
	} {
		wantErr(t, call(), false, `core has no action "nope"`)
	}
}

// The engine may name actions with or without the provider prefix.
func TestQualifiedActionName(t *testing.T) {
	p := core.New(core.Options{})
	r := request(t, "sleep", map[string]cty.Value{"duration": cty.StringVal("0s")})
	r.Action = "core.sleep"
	if _, err := p.Apply(context.Background(), r); err != nil {
		t.Fatal(err)
	}
}

func TestRequiredInputs(t *testing.T) {
	p := core.New(core.Options{})
	for action, attr := range map[string]string{
		"exec": "command", "http": "url", "sleep": "duration", "approve": "message",
		"checksum": "path", "file_copy": "source",
	} {
		t.Run(action, func(t *testing.T) {
			set := map[string]cty.Value{}
			if action == "file_copy" {
				set["destination"] = cty.StringVal("/tmp/x")
			}
			r := request(t, action, set)
			_, err := plan(t, p, r)
			wantErr(t, err, false, `"`+attr+`" is required`)
			_, err = apply(t, p, r)
			wantErr(t, err, false, `"`+attr+`" is required`)
		})
	}
}

// Inputs that reference other steps' outputs are unknown at plan time:
// Plan predicts unknown outputs, Apply refuses them.
func TestUnknownInputs(t *testing.T) {
	p := core.New(core.Options{})
	for action, as := range core.Schema().Actions {
		t.Run(action, func(t *testing.T) {
			r := &provider.Request{Action: action, Inputs: cty.UnknownVal(as.Inputs.ImpliedType())}
			out, err := plan(t, p, r)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if action != "sleep" && out.IsWhollyKnown() {
				t.Errorf("Plan of unknown inputs = %#v, want unknowns", out)
			}
			_, err = apply(t, p, r)
			wantErr(t, err, false, "unknown")
			resp, err := p.Check(context.Background(), &provider.CheckRequest{Request: *r})
			if err != nil || resp.Result != provider.Unknown {
				t.Errorf("Check = %+v, %v; want Unknown", resp, err)
			}
		})
	}
}

func TestCheckWithoutSideEffects(t *testing.T) {
	dir := t.TempDir()
	file := writeFile(t, dir, "f", "data", 0o644)
	p := core.New(core.Options{Approver: func(context.Context, string) (string, error) {
		t.Error("Check asked for approval")
		return "", nil
	}})
	long := time.Now().Add(-time.Hour)
	tests := []struct {
		action  string
		set     map[string]cty.Value
		started time.Time
		want    provider.CheckResult
	}{
		{"exec", map[string]cty.Value{"command": strs("touch", dir+"/exec")}, long, provider.Unknown},
		{"exec", map[string]cty.Value{"command": strs("touch", dir+"/exec"), "idempotent": cty.True}, long, provider.NotApplied},
		{"http", map[string]cty.Value{"url": cty.StringVal("http://127.0.0.1:1/")}, long, provider.Unknown},
		{"approve", map[string]cty.Value{"message": cty.StringVal("go?")}, long, provider.Unknown},
		{"wait", map[string]cty.Value{"command": strs("touch", dir+"/wait")}, long, provider.NotApplied},
		{"sleep", map[string]cty.Value{"duration": cty.StringVal("1m")}, long, provider.Applied},
		{"sleep", map[string]cty.Value{"duration": cty.StringVal("1m")}, time.Now(), provider.NotApplied},
		{"sleep", map[string]cty.Value{"duration": cty.StringVal("1m")}, time.Time{}, provider.NotApplied},
		{"checksum", map[string]cty.Value{"path": cty.StringVal(file)}, long, provider.Applied},
		{"checksum", map[string]cty.Value{"path": cty.StringVal(dir + "/missing")}, long, provider.NotApplied},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			resp, err := p.Check(context.Background(), &provider.CheckRequest{Request: *request(t, tt.action, tt.set), Started: tt.started})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Result != tt.want {
				t.Fatalf("Result = %v, want %v", resp.Result, tt.want)
			}
			if tt.want == provider.Applied {
				checkOutputType(t, tt.action, resp.Outputs)
			}
		})
	}
	assertNoFile(t, dir+"/exec")
	assertNoFile(t, dir+"/wait")
}
