package runbook_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/state/local"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/runbook"
)

// fake is a provider whose "do" action records every call and behaves as
// its inputs say: fail (retryable or not) the first N calls, block until
// cancelled, or echo a value.
type fake struct {
	mu    sync.Mutex
	calls []string // "apply step.x" / "plan step.x" / "check step.x"
	check provider.CheckResult
}

func fakeSchema() *dsl.ProviderSchema {
	in := &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{
		"value":     {Type: cty.String},
		"fail":      {Type: cty.Number},
		"retryable": {Type: cty.Bool},
		"block":     {Type: cty.Bool},
		"secret":    {Type: cty.String},
	}}
	out := map[string]cty.Type{"value": cty.String, "calls": cty.Number}
	return &dsl.ProviderSchema{Config: &dsl.BlockSchema{}, Actions: map[string]*dsl.ActionSchema{
		"do":   {Inputs: in, Outputs: out, Mutating: true},
		"read": {Inputs: in, Outputs: out, Idempotent: true},
	}}
}

func (f *fake) Schema(context.Context) (*dsl.ProviderSchema, error) { return fakeSchema(), nil }
func (f *fake) Configure(context.Context, cty.Value) error          { return nil }
func (f *fake) Close() error                                        { return nil }

func (f *fake) record(kind string, req *provider.Request) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, kind+" "+req.Step)
	n := 0
	for _, c := range f.calls {
		if c == kind+" "+req.Step {
			n++
		}
	}
	return n
}

func (f *fake) Plan(_ context.Context, req *provider.Request) (*provider.Response, error) {
	f.record("plan", req)
	return &provider.Response{Outputs: cty.ObjectVal(map[string]cty.Value{
		"value": cty.UnknownVal(cty.String), "calls": cty.UnknownVal(cty.Number)})}, nil
}

func (f *fake) Apply(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	n := f.record("apply", req)
	in := req.Inputs
	if b := in.GetAttr("block"); !b.IsNull() && b.True() {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	if fail := in.GetAttr("fail"); !fail.IsNull() {
		limit, _ := fail.AsBigFloat().Int64()
		retryable := in.GetAttr("retryable")
		if int64(n) <= limit {
			return nil, &provider.Error{Message: fmt.Sprintf("failure %d", n), Retryable: !retryable.IsNull() && retryable.True()}
		}
	}
	v := in.GetAttr("value")
	if v.IsNull() {
		v = cty.StringVal(req.Step)
	}
	return &provider.Response{Outputs: cty.ObjectVal(map[string]cty.Value{"value": v, "calls": cty.NumberIntVal(int64(n))})}, nil
}

func (f *fake) Check(_ context.Context, req *provider.CheckRequest) (*provider.CheckResponse, error) {
	f.record("check", &req.Request)
	return &provider.CheckResponse{Result: f.check, Outputs: cty.ObjectVal(map[string]cty.Value{
		"value": cty.StringVal("checked"), "calls": cty.NumberIntVal(0)})}, nil
}

func (f *fake) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.calls)
}

// harness runs runbooks against the fake provider with a local journal.
type harness struct {
	t       *testing.T
	fake    *fake
	backend *local.Backend
	events  []runbook.Event
	mu      sync.Mutex
	engine  *runbook.Engine
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	b, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := runbook.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, fake: &fake{}, backend: b}
	h.engine = &runbook.Engine{
		Schemas: dsl.Schemas{"fake": fakeSchema()},
		Providers: func(ctx context.Context, name string) (provider.Provider, error) {
			return h.fake, nil
		},
		Backend: b, Sealer: sealer, Jitter: func() float64 { return 0 },
		Observer: runbook.ObserverFunc(func(e runbook.Event) {
			h.mu.Lock()
			h.events = append(h.events, e)
			h.mu.Unlock()
		}),
	}
	return h
}

func (h *harness) apply(ctx context.Context, src string, opts runbook.ApplyOptions) *runbook.Result {
	h.t.Helper()
	cfg := load(h.t, map[string]string{"main.hcl": "provider \"fake\" {}\n" + src})
	if opts.Vars == nil {
		vars, diags := dsl.NewLoader().ResolveVariables(cfg, nil, nil)
		if diags.HasErrors() {
			h.t.Fatal(diags.Error())
		}
		opts.Vars = vars
	}
	res, diags, err := h.engine.Apply(ctx, cfg, opts)
	if diags.HasErrors() {
		h.t.Fatalf("diagnostics: %s", diags.Error())
	}
	if err != nil {
		h.t.Fatalf("apply: %v", err)
	}
	return res
}

func (h *harness) statuses(runID string) map[string]string {
	recs, err := h.backend.Read(context.Background(), runID)
	if err != nil {
		h.t.Fatal(err)
	}
	v := runbook.ViewRun(recs, nil)
	out := map[string]string{}
	for _, s := range v.Steps {
		out[s.Addr] = s.Status
		for _, it := range s.Items {
			out[it.Addr] = it.Status
		}
	}
	return out
}

func TestApplyOrderAndFailure(t *testing.T) {
	h := newHarness(t)
	res := h.apply(context.Background(), `
step "a" {
  action = fake.do
  value  = "A"
}
step "b" {
  action = fake.do
  value  = "${step.a.value}B"
}
step "bad" {
  action = fake.do
  fail   = 5
}
step "after_bad" {
  action = fake.do
  value  = step.bad.value
}
step "independent" {
  action     = fake.do
  depends_on = [step.b]
}
finally "cleanup" {
  action = fake.do
  value  = "cleanup"
}
output "b" { value = step.b.value }
output "bad" { value = upper(step.after_bad.value) }
`, runbook.ApplyOptions{})
	// h.apply fails on any diagnostic: the output of a skipped step is left
	// out, it is not an error of its own.
	if res.Status != runbook.RunFailed {
		t.Fatalf("status %s, want failed", res.Status)
	}
	got := h.statuses(res.RunID)
	want := map[string]string{
		"step.a": "succeeded", "step.b": "succeeded", "step.bad": "failed",
		"step.after_bad": "skipped", "step.independent": "succeeded", "step.cleanup": "succeeded",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	calls := h.fake.callList()
	if slices.Index(calls, "apply step.a") > slices.Index(calls, "apply step.b") {
		t.Errorf("b ran before a: %v", calls)
	}
	if calls[len(calls)-1] != "apply step.cleanup" {
		t.Errorf("finally did not run last: %v", calls)
	}
	if len(res.Outputs) != 1 || res.Outputs[0].Display != `"AB"` {
		t.Errorf("outputs %+v", res.Outputs)
	}
}

func TestApplyRetries(t *testing.T) {
	h := newHarness(t)
	clock := clockwork.NewFakeClock()
	h.engine.Clock = clock
	done := make(chan *runbook.Result)
	go func() {
		done <- h.apply(context.Background(), `
step "flaky" {
  action    = fake.do
  fail      = 2
  retryable = true
  retry {
    attempts = 3
    delay    = "10s"
    backoff  = 2
  }
}
step "hard" {
  action = fake.do
  fail   = 1
  retry {
    attempts = 5
  }
}
`, runbook.ApplyOptions{})
	}()
	// Two waits: 10s * 2^0 and 10s * 2^1, halved by the zero jitter.
	for _, d := range []time.Duration{5 * time.Second, 10 * time.Second} {
		if err := clock.BlockUntilContext(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		clock.Advance(d)
	}
	res := <-done
	got := h.statuses(res.RunID)
	if got["step.flaky"] != "succeeded" || got["step.hard"] != "failed" {
		t.Fatalf("statuses %v", got)
	}
	n := 0
	for _, c := range h.fake.callList() {
		if c == "apply step.hard" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("a non-retryable error was retried: %d calls", n)
	}
}

func TestApplyWhenForEachAndParallelism(t *testing.T) {
	h := newHarness(t)
	res := h.apply(context.Background(), `
variable "on" {
  default = false
}
step "off" {
  action = fake.do
  when   = var.on
}
step "after_off" {
  action = fake.do
  value  = step.off.value
}
step "fan" {
  for_each = toset(["a", "b", "c", "d"])
  action   = fake.do
  value    = each.key
  when     = each.key != "d"
}
step "join" {
  action = fake.do
  value  = join(",", [for k, v in step.fan : v.value])
}
output "join" { value = step.join.value }
`, runbook.ApplyOptions{Parallelism: 2})
	got := h.statuses(res.RunID)
	for k, v := range map[string]string{
		"step.off": "skipped", "step.after_off": "skipped", `step.fan["a"]`: "succeeded",
		`step.fan["d"]`: "skipped", "step.fan": "succeeded", "step.join": "succeeded",
	} {
		if got[k] != v {
			t.Errorf("%s: %s, want %s", k, got[k], v)
		}
	}
	if res.Outputs[0].Display != `"a,b,c"` {
		t.Errorf("join = %s", res.Outputs[0].Display)
	}
}

// TestDryRunMutatesNothing proves dry-run calls Plan and never Apply.
func TestDryRunMutatesNothing(t *testing.T) {
	h := newHarness(t)
	res := h.apply(context.Background(), `
step "a" {
  action = fake.do
  value  = "x"
}
step "b" {
  action = fake.do
  value  = step.a.value
}
step "c" {
  action = fake.read
}
step "fan" {
  for_each = toset(split(",", step.a.value))
  action   = fake.do
  value    = each.key
}
step "after_fan" {
  action = fake.do
  value  = join(",", [for k, v in step.fan : v.value])
}
`, runbook.ApplyOptions{DryRun: true})
	if res.Status != runbook.RunFinished {
		t.Fatalf("status %s", res.Status)
	}
	for _, c := range h.fake.callList() {
		if strings.HasPrefix(c, "apply") {
			t.Errorf("dry-run made a mutating call: %s", c)
		}
	}
	if !slices.Contains(h.fake.callList(), "plan step.a") {
		t.Errorf("dry-run did not plan step.a: %v", h.fake.callList())
	}
	// A for_each over a predicted (unknown) output is walked once, and
	// what depends on it is planned too rather than failed.
	if got := h.statuses(res.RunID); got["step.fan"] != "succeeded" || got["step.after_fan"] != "succeeded" {
		t.Errorf("unknown for_each in a dry-run: %v", got)
	}
}

func TestCancelRunsFinallyAndResumes(t *testing.T) {
	h := newHarness(t)
	ctx, cancel := context.WithCancel(context.Background())
	src := `
step "first" {
  action = fake.do
}
step "stuck" {
  action     = fake.do
  block      = true
  depends_on = [step.first]
}
step "never" {
  action = fake.do
  value  = step.stuck.value
}
finally "cleanup" {
  action = fake.do
}
`
	go func() {
		for {
			if slices.Contains(h.fake.callList(), "apply step.stuck") {
				cancel()
				return
			}
			time.Sleep(time.Millisecond)
		}
	}()
	res := h.apply(ctx, src, runbook.ApplyOptions{})
	if res.Status != runbook.RunCancelled {
		t.Fatalf("status %s, want cancelled", res.Status)
	}
	got := h.statuses(res.RunID)
	if got["step.cleanup"] != "succeeded" || got["step.stuck"] != "cancelled" {
		t.Fatalf("statuses %v", got)
	}
	// Resume: the finished step is not run again; "stuck" runs (now it
	// returns because its input says so only when not blocked: unblock it
	// by resuming with a runbook whose stuck step no longer blocks).
	before := len(h.fake.callList())
	cfg := load(t, map[string]string{"main.hcl": "provider \"fake\" {}\n" + strings.Replace(src, "block      = true", "block      = false", 1)})
	res2, diags, err := h.engine.Apply(context.Background(), cfg, runbook.ApplyOptions{ResumeID: res.RunID})
	if err != nil || diags.HasErrors() {
		t.Fatalf("resume: %v %v", err, diags)
	}
	if res2.Status != runbook.RunFinished {
		t.Fatalf("resumed status %s", res2.Status)
	}
	for _, c := range h.fake.callList()[before:] {
		if c == "apply step.first" {
			t.Errorf("resume ran a succeeded step again")
		}
	}
}

func TestResumeRefusesChangedFinishedStep(t *testing.T) {
	h := newHarness(t)
	src := `
step "a" {
  action = fake.do
  value  = "one"
}
step "b" {
  action = fake.do
  fail   = 1
  value  = step.a.value
}
`
	res := h.apply(context.Background(), src, runbook.ApplyOptions{})
	if res.Status != runbook.RunFailed {
		t.Fatalf("status %s", res.Status)
	}
	changed := strings.Replace(src, `"one"`, `"two"`, 1)
	cfg := load(t, map[string]string{"main.hcl": "provider \"fake\" {}\n" + changed})
	_, _, err := h.engine.Apply(context.Background(), cfg, runbook.ApplyOptions{ResumeID: res.RunID})
	if err == nil || !strings.Contains(err.Error(), "step.a") {
		t.Fatalf("want a refusal naming step.a, got %v", err)
	}
}

func TestSensitiveNeverInJournal(t *testing.T) {
	h := newHarness(t)
	res := h.apply(context.Background(), `
variable "pw" {
  default   = "hunter2-secret"
  sensitive = true
}
step "use" {
  action = fake.do
  value  = var.pw
}
output "pw" {
  value     = step.use.value
  sensitive = true
}
`, runbook.ApplyOptions{})
	recs, err := h.backend.Read(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		b := fmt.Sprintf("%+v %s", r, r.Values)
		if r.Run != nil {
			b += string(r.Run.Variables)
		}
		if strings.Contains(b, "hunter2") {
			t.Fatalf("secret in the journal: %s record", r.Type)
		}
	}
}

// TestNullSecretMarksNothing: an optional sensitive input left null does
// not make the step's outputs sensitive; a set one does.
func TestNullSecretMarksNothing(t *testing.T) {
	h := newHarness(t)
	res := h.apply(context.Background(), `
variable "pw" {
  type      = string
  default   = null
  sensitive = true
}
variable "token" {
  default   = "t0ken-value"
  sensitive = true
}
step "unset" {
  action = fake.do
  value  = "shown"
  secret = var.pw
}
step "set" {
  action = fake.do
  value  = "hidden"
  secret = var.token
}
output "unset" { value = step.unset.value }
output "set" { value = step.set.value }
`, runbook.ApplyOptions{})
	got := map[string]string{}
	for _, o := range res.Outputs {
		got[o.Name] = o.Display
	}
	if got["unset"] != `"shown"` || got["set"] != "(sensitive)" {
		t.Errorf("outputs %v", got)
	}
}
