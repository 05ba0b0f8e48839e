package runbook_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/runbook"
)

// fnLeakSecret holds characters that strconv.Quote and JSON escape, so
// that it appears escaped in a quoting error message.
const fnLeakSecret = `fnleak-Secret"7\q<&>`

// fnLeakRunbook makes functions fail on the sensitive variable: go-cty's
// tonumber and go-cty-funcs' base64decode quote their argument in the
// error, in a step input and in an output.
const fnLeakRunbook = `
variable "pw" {
  type      = string
  sensitive = true
}
step "number" {
  action = fake.do
  value  = tostring(tonumber(var.pw))
}
step "decode" {
  action = fake.do
  value  = base64decode(var.pw)
}
output "number" {
  value     = tonumber(var.pw)
  sensitive = true
}
`

// TestPlanDiagnosticsHideSecrets: `runbook plan` prints the planner's
// diagnostics as they are; a function that fails on a sensitive value must
// not show it there.
func TestPlanDiagnosticsHideSecrets(t *testing.T) {
	cfg := load(t, map[string]string{"main.hcl": "provider \"fake\" {}\n" + fnLeakRunbook})
	vars, diags := dsl.NewLoader().ResolveVariables(cfg, []string{dsl.EnvPrefix + "pw=" + fnLeakSecret}, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	_, _, diags = (&runbook.Planner{Schemas: dsl.Schemas{"fake": fakeSchema()}}).Plan(cfg, vars)
	if !diags.HasErrors() {
		t.Fatal("the plan has no error: the functions did not fail")
	}
	for _, d := range diags {
		if text := d.Summary + " " + d.Detail; strings.Contains(text, "fnleak") {
			t.Errorf("a plan diagnostic shows the secret: %s", text)
		}
	}
}

// TestApplyHidesEscapedSecrets: the messages of failed steps (events and
// journal) and the diagnostics Apply returns (an output that fails) never
// hold a sensitive value, even quoted with escapes.
func TestApplyHidesEscapedSecrets(t *testing.T) {
	h := newHarness(t)
	cfg := load(t, map[string]string{"main.hcl": "provider \"fake\" {}\n" + fnLeakRunbook})
	vars, diags := dsl.NewLoader().ResolveVariables(cfg, []string{dsl.EnvPrefix + "pw=" + fnLeakSecret}, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	res, diags, err := h.engine.Apply(context.Background(), cfg, runbook.ApplyOptions{Vars: vars})
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != runbook.RunFailed {
		t.Fatalf("run %s, want failed", res.Status)
	}
	var texts []string
	for _, d := range diags {
		texts = append(texts, "diagnostic: "+d.Summary+" "+d.Detail)
	}
	h.mu.Lock()
	for _, e := range h.events {
		b, _ := json.Marshal(e)
		texts = append(texts, "event: "+string(b))
	}
	h.mu.Unlock()
	recs, err := h.backend.Read(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		b, _ := json.Marshal(r)
		texts = append(texts, fmt.Sprintf("journal %s: %s", r.Type, b))
	}
	failed := 0
	for _, text := range texts {
		if strings.Contains(text, "fnleak") {
			t.Errorf("the secret leaked: %s", text)
		}
		if strings.Contains(text, "(sensitive)") || strings.Contains(text, "the value is sensitive") {
			failed++
		}
	}
	if failed == 0 {
		t.Error("no message says (sensitive): the functions did not fail on the secret")
	}
}
