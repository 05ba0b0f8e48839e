package manager_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/plugins/manager"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/providertest"
)

// poll is the provider's poll_interval in tests: the simulator's work takes
// tens of milliseconds.
const poll = "10ms"

// sim is a simulated manager listening on 127.0.0.1 (so that a restore's
// restart refuses connections, as a real one does).
type sim struct {
	*simmanager.Server
	URL string
}

func startSim(t *testing.T, opts simmanager.Options) *sim {
	t.Helper()
	srv := simmanager.New(opts)
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &sim{Server: srv, URL: url}
}

// requests reads the simulator's request log through its control endpoint.
func (s *sim) requests(t *testing.T) []simmanager.RequestRecord {
	t.Helper()
	resp, err := http.Get(s.URL + "/_sim/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out []simmanager.RequestRecord
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// faults installs a fault set through the control endpoint.
func (s *sim) faults(t *testing.T, f simmanager.Faults) {
	t.Helper()
	b, _ := json.Marshal(f)
	resp, err := http.Post(s.URL+"/_sim/faults", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /_sim/faults: %s", resp.Status)
	}
}

// count is how many requests matched method and path (a prefix when it
// ends with "*").
func count(reqs []simmanager.RequestRecord, method, path string) int {
	n := 0
	for _, r := range reqs {
		if r.Method != method {
			continue
		}
		if p, ok := strings.CutSuffix(path, "*"); ok && strings.HasPrefix(r.Path, p) || r.Path == path {
			n++
		}
	}
	return n
}

func mutating(reqs []simmanager.RequestRecord) []string {
	var out []string
	for _, r := range reqs {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// val converts test values to cty (providertest.Val).
var val = providertest.Val

// obj is val of a map, for inputs and configurations.
type obj = map[string]any

// harness is one configured provider against one simulator.
type harness struct {
	t   *testing.T
	sim *sim
	p   provider.Provider
}

// config is the provider block for s, with overrides.
func config(s *sim, over obj) obj {
	c := obj{"endpoint": s.URL, "username": "admin", "password": "admin", "poll_interval": poll}
	for k, v := range over {
		c[k] = v
	}
	return c
}

func newHarness(t *testing.T, s *sim, over obj) *harness {
	t.Helper()
	p := manager.New()
	if err := p.Configure(context.Background(), val(config(s, over))); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return &harness{t: t, sim: s, p: p}
}

// result is one Apply: its outputs, its events and its error.
type result struct {
	out    cty.Value
	events []provider.Event
	err    error
}

func (r *result) logs() string {
	var b strings.Builder
	for _, ev := range r.events {
		if ev.Kind == provider.EventLog {
			fmt.Fprintf(&b, "%s: %s\n", ev.Level, ev.Message)
		}
	}
	return b.String()
}

func (r *result) str(name string) string {
	r0 := r.out.GetAttr(name)
	if r0.IsNull() {
		return ""
	}
	return r0.AsString()
}

func apply(ctx context.Context, p provider.Provider, action string, in obj) *result {
	out, events, err := providertest.Apply(ctx, p, action, val(in))
	return &result{out: out, events: events, err: err}
}

// apply runs action and fails the test on an error.
func (h *harness) apply(action string, in obj) *result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := apply(ctx, h.p, action, in)
	if res.err != nil {
		h.t.Fatalf("%s: %v\nlog:\n%s", action, res.err, res.logs())
	}
	return res
}

// fail runs action and returns its error, failing the test if it succeeds.
func (h *harness) fail(action string, in obj) *provider.Error {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := apply(ctx, h.p, action, in)
	if res.err == nil {
		h.t.Fatalf("%s succeeded with %#v, want an error", action, res.out)
	}
	var pe *provider.Error
	if !errors.As(res.err, &pe) {
		h.t.Fatalf("%s: %T %v is not a *provider.Error", action, res.err, res.err)
	}
	return pe
}

func (h *harness) plan(action string, in obj) (cty.Value, error) {
	resp, err := h.p.Plan(context.Background(), &provider.Request{Action: action, Inputs: val(in)})
	if err != nil {
		return cty.NilVal, err
	}
	return resp.Outputs, nil
}

func (h *harness) check(action string, in obj, started time.Time) (*provider.CheckResponse, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return h.p.Check(ctx, &provider.CheckRequest{Request: provider.Request{Action: action, Inputs: val(in)}, Started: started})
}

// wantError checks a failure's message parts and retryable flag.
func wantError(t *testing.T, pe *provider.Error, retryable bool, parts ...string) {
	t.Helper()
	if pe.Retryable != retryable {
		t.Errorf("retryable = %v, want %v: %v", pe.Retryable, retryable, pe)
	}
	for _, p := range parts {
		if !strings.Contains(pe.Error(), p) {
			t.Errorf("error %q does not contain %q", pe.Error(), p)
		}
	}
}

// objects reads a list of objects output as maps of strings.
func objects(v cty.Value) []map[string]string {
	var out []map[string]string
	if v.IsNull() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		m := map[string]string{}
		for k, a := range e.AsValueMap() {
			if a.Type() == cty.String && !a.IsNull() {
				m[k] = a.AsString()
			}
		}
		out = append(out, m)
	}
	return out
}

func strings_(v cty.Value) []string {
	var out []string
	if v.IsNull() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	sort.Strings(out)
	return out
}

// estate is a manager with a blueprint, a deployment and plugins, and a
// snapshot "nightly" whose restore brings back scheduled executions, one of
// them overdue (seed 002).
func estate() *simmanager.Estate {
	return &simmanager.Estate{
		Snapshots: []simmanager.EstateSnapshot{
			{ID: "nightly", Status: "created", CreatedAt: "-3h", Contents: &simmanager.Contents{
				Blueprints:  []simmanager.EstateBlueprint{{ID: "app", Plugins: []simmanager.PluginRef{{PackageName: "cloudify-openstack-plugin", PackageVersion: "3.2.0"}}}},
				Deployments: []simmanager.EstateDeployment{{ID: "app-prod", BlueprintID: "app"}},
				Plugins: []simmanager.EstatePlugin{
					{ID: "os-320", PackageName: "cloudify-openstack-plugin", PackageVersion: "3.2.0"},
					{ID: "os-331", PackageName: "cloudify-openstack-plugin", PackageVersion: "3.3.1"},
				},
				Executions: []simmanager.EstateExecution{
					{ID: "heal-0400", WorkflowID: "heal", DeploymentID: "app-prod", Status: "scheduled", ScheduledFor: "-1h"},
					{ID: "heal-0800", WorkflowID: "heal", DeploymentID: "app-prod", Status: "scheduled", ScheduledFor: "+2h"},
				},
			}},
			// Older than any snapshot a test creates: "newest first" must not
			// depend on two snapshots landing in the same millisecond.
			{ID: "broken", Status: "failed", Error: "disk full", CreatedAt: "-1m"},
		},
	}
}

// liveEstate is estate with the blueprint, deployment and plugins live.
func liveEstate() *simmanager.Estate {
	e := estate()
	c := e.Snapshots[0].Contents
	e.Blueprints, e.Deployments, e.Plugins = c.Blueprints, c.Deployments, c.Plugins
	return e
}

func ctyPath(name string) cty.Path { return cty.GetAttrPath(name) }
