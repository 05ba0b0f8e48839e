package sdk_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/providertest"
)

// TestHelloPlugin builds the hello-world example of docs/providers.md with
// go build and runs it as the host does: a real process through go-plugin
// (handshake, gRPC, automatic mutual TLS).
func TestHelloPlugin(t *testing.T) {
	bin, err := providertest.Build("./examples/hello", t.TempDir(), "runbook-provider-hello")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	greet := func(t *testing.T, p provider.Provider, name cty.Value) (*provider.Response, []provider.Event, error) {
		t.Helper()
		var mu sync.Mutex
		var events []provider.Event
		resp, err := p.Apply(ctx, &provider.Request{
			Action: "greet",
			Inputs: cty.ObjectVal(map[string]cty.Value{"name": name}),
			Events: func(ev provider.Event) { mu.Lock(); events = append(events, ev); mu.Unlock() },
		})
		mu.Lock()
		defer mu.Unlock()
		return resp, events, err
	}

	t.Run("schema", func(t *testing.T) {
		p := providertest.Launch(t, bin)
		s, err := p.Schema(ctx)
		if err != nil {
			t.Fatalf("Schema: %v", err)
		}
		// The guide's runbook is valid against the plugin's schema.
		_, hclBlock := guideBlocks(t)
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "hello.hcl"), []byte(hclBlock), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, diags := dsl.NewLoader().Load(dir)
		if !diags.HasErrors() {
			diags = append(diags, dsl.Validate(cfg, dsl.Schemas{"hello": s})...)
		}
		if diags.HasErrors() {
			t.Errorf("the runbook in docs/providers.md does not validate: %v", diags)
		}
		if s.Version != "0.1.0" {
			t.Errorf("version %q", s.Version)
		}
		a := s.Actions["greet"]
		if a == nil || a.Description != "Greets someone." || !a.Idempotent || a.Mutating {
			t.Fatalf("greet is %+v", a)
		}
		name := a.Inputs.Attributes["name"]
		if name == nil || !name.Type.Equals(cty.String) || !name.Required || name.Description != "Who to greet." {
			t.Errorf("input name is %+v", name)
		}
		if ty, ok := a.Outputs["message"]; !ok || !ty.Equals(cty.String) || len(a.Outputs) != 1 {
			t.Errorf("outputs %#v", a.Outputs)
		}
		if g := s.Config.Attributes["greeting"]; g == nil || !g.Type.Equals(cty.String) || g.Required {
			t.Errorf("config greeting is %+v", g)
		}
	})

	tests := []struct {
		name   string
		config cty.Value
		want   string
	}{
		{"default greeting", cty.NullVal(cty.DynamicPseudoType), "Hello, Ada!"},
		{"configured greeting", cty.ObjectVal(map[string]cty.Value{"greeting": cty.StringVal("Bonjour")}), "Bonjour, Ada!"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := providertest.Launch(t, bin)
			if err := p.Configure(ctx, tt.config); err != nil {
				t.Fatalf("Configure: %v", err)
			}
			resp, events, err := greet(t, p, cty.StringVal("Ada"))
			if err != nil {
				t.Fatalf("Apply: %v", err)
			}
			want := cty.ObjectVal(map[string]cty.Value{"message": cty.StringVal(tt.want)})
			if !resp.Outputs.RawEquals(want) {
				t.Errorf("outputs %#v, want %#v", resp.Outputs, want)
			}
			if len(events) != 1 || events[0].Kind != provider.EventLog || events[0].Level != "info" || events[0].Message != "greeting Ada" {
				t.Errorf("events %+v, want one info line", events)
			}
		})
	}

	t.Run("name required", func(t *testing.T) {
		p := providertest.Launch(t, bin)
		if err := p.Configure(ctx, cty.NullVal(cty.DynamicPseudoType)); err != nil {
			t.Fatalf("Configure: %v", err)
		}
		_, _, err := greet(t, p, cty.NullVal(cty.String))
		var pe *provider.Error
		if !errors.As(err, &pe) || !pe.Attribute.Equals(cty.GetAttrPath("name")) || pe.Retryable {
			t.Fatalf("error %v (%#v), want a non-retryable error at name", err, pe)
		}
	})
}

// guideBlocks returns the first go and hcl code blocks of the provider
// guide.
func guideBlocks(t *testing.T) (goBlock, hclBlock string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/providers.md")
	if err != nil {
		t.Fatal(err)
	}
	block := func(lang string) string {
		_, rest, ok := strings.Cut(string(b), "```"+lang+"\n")
		if !ok {
			t.Fatalf("docs/providers.md has no %s block", lang)
		}
		code, _, _ := strings.Cut(rest, "```\n")
		return code
	}
	return block("go"), block("hcl")
}

// TestGuideShowsTheExample: the hello world in docs/providers.md is
// examples/hello/main.go, which TestHelloPlugin builds and runs.
func TestGuideShowsTheExample(t *testing.T) {
	src, err := os.ReadFile("examples/hello/main.go")
	if err != nil {
		t.Fatal(err)
	}
	goBlock, _ := guideBlocks(t)
	if goBlock != string(src) {
		t.Error("the hello world in docs/providers.md differs from examples/hello/main.go: copy the file into the guide")
	}
	if n := strings.Count(string(src), "\n"); n >= 40 {
		t.Errorf("the hello world has %d lines; keep it under 40", n)
	}
}
