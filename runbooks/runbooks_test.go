// Package runbooks_test validates the shipped runbooks against the real
// provider schemas and applies them, through the engine in-process, to the
// simulated Cloudify manager: with faults injected (they must still finish,
// thanks to their retry blocks), and as a dry-run that the simulator's
// request log proves made no mutating request.
package runbooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/internal/state/local"
	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/docker"
	"github.com/runbook-dev/runbook/plugins/manager"
	"github.com/runbook-dev/runbook/plugins/openstack"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/runbook"
)

// managerRunbooks are the runbooks of seeds 001 and 002, applied here.
var managerRunbooks = []string{
	"manager-snapshot-daily",
	"manager-restore",
	"manager-cluster-whole-down",
	"manager-cluster-node-down",
	"manager-active-node-down",
}

func schemas(t testing.TB) dsl.Schemas {
	t.Helper()
	ms, err := manager.New().Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ops, err := openstack.New().Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ds, err := docker.New().Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return dsl.Schemas{"core": core.Schema(), "manager": ms, "openstack": ops, "docker": ds}
}

// TestValidate: every shipped runbook (and example) loads and validates
// against the providers' schemas, with its drill variables. Examples whose
// providers are not built yet only need to load.
func TestValidate(t *testing.T) {
	dirs, err := filepath.Glob("*/main.hcl")
	if err != nil {
		t.Fatal(err)
	}
	ex, _ := filepath.Glob("examples/*/main.hcl")
	dirs = append(dirs, ex...)
	sch := schemas(t)
	for _, f := range dirs {
		dir := filepath.Dir(f)
		t.Run(dir, func(t *testing.T) {
			l := dsl.NewLoader()
			cfg, diags := l.Load(dir)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			diags = dsl.Validate(cfg, sch)
			for _, d := range diags {
				if d.Severity == hcl.DiagError || strings.HasPrefix(dir, "manager-") {
					t.Errorf("%s: %s", dir, d.Error())
				}
			}
			if _, err := os.Stat(filepath.Join(dir, "drill.vars.hcl")); err == nil {
				_, vdiags := l.ResolveVariables(cfg, []string{"RUNBOOK_VAR_admin_password=admin", "RUNBOOK_VAR_password=drill"},
					[]dsl.VarArg{{File: true, Value: filepath.Join(dir, "drill.vars.hcl")}})
				if vdiags.HasErrors() {
					t.Errorf("drill.vars.hcl: %s", vdiags.Error())
				}
			}
		})
	}
	for _, name := range append(managerRunbooks, standbyRunbooks...) {
		if _, err := os.Stat(filepath.Join(name, "drill.vars.hcl")); err != nil {
			t.Errorf("%s has no drill.vars.hcl", name)
		}
		b, err := os.ReadFile(filepath.Join(name, "main.hcl"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "# ") || !strings.Contains(string(b), "seed 00") {
			t.Errorf("%s/main.hcl does not open with a header comment citing its seed", name)
		}
	}
}

// standbyRunbooks are the runbooks of seed 004 (standby_test.go).
var standbyRunbooks = []string{"standby-nightly-transfer", "standby-failover", "standby-drill"}

// drill is one simulated manager and what a run against it needs.
type drill struct {
	t   *testing.T
	sim *simmanager.Server
	url string

	mu        sync.Mutex
	approvals []string
	// onApprove is the "human": it runs when core.approve asks.
	onApprove func(message string)
	// plugin, when set, starts the manager provider instead of manager.New.
	plugin func() provider.Provider
	events []runbook.Event
}

func newDrill(t *testing.T, est *simmanager.Estate) *drill {
	t.Helper()
	srv := simmanager.New(simmanager.Options{Estate: est})
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &drill{t: t, sim: srv, url: url}
}

// faults turns on seeded 5xx answers and latency on every API path: the
// first request with an authenticated answer fails for sure, then 15% of
// them at random.
func (d *drill) faults(extra simmanager.Faults) {
	d.t.Helper()
	f := extra
	f.Seed = 42
	f.Rules = append(f.Rules,
		simmanager.FaultRule{PathPrefix: "/api/v3.1/", ErrorRate: 1, ErrorStatus: 503, Times: 1},
		simmanager.FaultRule{PathPrefix: "/api/v3.1/", ErrorRate: 0.15, ErrorStatus: 502, Latency: "2ms"},
	)
	b, _ := json.Marshal(f)
	resp, err := http.Post(d.url+"/_sim/faults", "application/json", bytes.NewReader(b))
	if err != nil {
		d.t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("POST /_sim/faults: %s", resp.Status)
	}
}

// requests is the simulator's request log, read through GET /_sim/requests.
func (d *drill) requests() []simmanager.RequestRecord {
	d.t.Helper()
	resp, err := http.Get(d.url + "/_sim/requests")
	if err != nil {
		d.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out []simmanager.RequestRecord
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		d.t.Fatal(err)
	}
	return out
}

// run is one applied runbook.
type run struct {
	*runbook.Result
	view     *runbook.RunView
	outputs  map[string]cty.Value
	log      string
	events   []runbook.Event
	stateDir string
}

// apply runs the runbook in dir with its drill variables, the endpoint
// pointing at the simulator, and vars overriding the rest (-var NAME=VALUE).
func (d *drill) apply(dir string, dryRun bool, vars ...string) *run {
	d.t.Helper()
	args := []dsl.VarArg{{File: true, Value: filepath.Join(dir, "drill.vars.hcl")}, {Value: "endpoint=" + d.url}}
	for _, v := range vars {
		args = append(args, dsl.VarArg{Value: v})
	}
	r := applyDir(d.t, dir, d.providers, []string{"RUNBOOK_VAR_admin_password=admin"}, args, dryRun)
	d.mu.Lock()
	d.events = r.events
	d.mu.Unlock()
	return r
}

// applyDir applies the runbook in dir in-process, --auto-approve, with a
// fresh local state and these variables, and reads back its history.
func applyDir(t *testing.T, dir string, providers runbook.ProviderFactory, env []string, args []dsl.VarArg, dryRun bool) *run {
	t.Helper()
	l := dsl.NewLoader()
	cfg, diags := l.Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	values, diags := l.ResolveVariables(cfg, env, args)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	r := &run{stateDir: t.TempDir(), outputs: map[string]cty.Value{}}
	backend, err := local.New(r.stateDir)
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := runbook.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	e := &runbook.Engine{
		Schemas:   schemas(t),
		Providers: providers,
		Backend:   backend, Sealer: sealer, Jitter: func() float64 { return 0 },
		Observer: runbook.ObserverFunc(func(ev runbook.Event) {
			mu.Lock()
			r.events = append(r.events, ev)
			mu.Unlock()
		}),
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, diags, err := e.Apply(ctx, cfg, runbook.ApplyOptions{Vars: values, DryRun: dryRun, AutoApprove: true})
	if diags.HasErrors() {
		t.Fatalf("%s: %s", dir, diags.Error())
	}
	if err != nil {
		t.Fatalf("%s: %v", dir, err)
	}
	recs, err := backend.Read(context.Background(), res.RunID)
	if err != nil {
		t.Fatal(err)
	}
	r.Result, r.view = res, runbook.ViewRun(recs, sealer)
	for _, o := range res.Outputs {
		r.outputs[o.Name] = o.Value
	}
	mu.Lock()
	defer mu.Unlock()
	var b strings.Builder
	for _, ev := range r.events {
		switch ev.Type {
		case runbook.EventLog, runbook.EventAttemptFailed, runbook.EventStepFinished:
			fmt.Fprintf(&b, "%s %s %s %s\n", ev.Type, ev.Step, ev.Status, ev.Message)
		}
	}
	r.log = b.String()
	return r
}

// providers is the engine's ProviderFactory: core in-process with the
// drill's approver, manager in-process.
func (d *drill) providers(_ context.Context, name string) (provider.Provider, error) {
	switch name {
	case "core":
		return core.New(core.Options{Approver: func(_ context.Context, message string) (string, error) {
			d.mu.Lock()
			d.approvals = append(d.approvals, message)
			hook := d.onApprove
			d.mu.Unlock()
			if hook != nil {
				hook(message)
			}
			return "drill", nil
		}}), nil
	case "docker":
		return docker.New(), nil
	case "manager":
		if d.plugin != nil {
			return d.plugin(), nil
		}
		return manager.New(), nil
	}
	return nil, fmt.Errorf("no provider %q", name)
}

// finished fails the test unless the run finished, showing why.
func (r *run) finished(t *testing.T) {
	t.Helper()
	if r.Status != runbook.RunFinished {
		var bad []string
		for _, s := range r.view.Steps {
			if s.Status != "succeeded" {
				bad = append(bad, fmt.Sprintf("%s %s: %s", s.Addr, s.Status, s.Message))
			}
			for _, it := range s.Items {
				if it.Status != "succeeded" {
					bad = append(bad, fmt.Sprintf("%s %s: %s", it.Addr, it.Status, it.Message))
				}
			}
		}
		t.Fatalf("run %s, want finished:\n%s\nlog:\n%s", r.Status, strings.Join(bad, "\n"), r.log)
	}
}

// step returns a step's status.
func (r *run) step(addr string) string {
	for _, s := range r.view.Steps {
		if s.Addr == addr {
			return s.Status
		}
	}
	return "absent"
}

// retried counts the attempts that failed and were retried.
func (r *run) retried() int {
	return strings.Count(r.log, string(runbook.EventAttemptFailed))
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

func str(v cty.Value) string {
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() || v.Type() != cty.String {
		return ""
	}
	return v.AsString()
}

func list(v cty.Value) []string {
	var out []string
	if v == cty.NilVal || v.IsNull() || !v.IsKnown() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	sort.Strings(out)
	return out
}

// TestDryRunsMutateNothing: a dry-run of each runbook walks the whole
// graph, and the simulator's request log shows no POST, PUT, PATCH or
// DELETE.
func TestDryRunsMutateNothing(t *testing.T) {
	for _, name := range managerRunbooks {
		t.Run(name, func(t *testing.T) {
			d := newDrill(t, clusterEstate())
			d.faults(simmanager.Faults{ClusterNodes: map[string]string{"manager-2": "Fail"}})
			r := d.apply(name, true, dryRunVars(t, name)...)
			r.finished(t)
			reqs := d.requests()
			if got := mutating(reqs); len(got) > 0 {
				t.Errorf("the dry-run sent %v", got)
			}
			if len(d.approvals) > 0 {
				t.Errorf("the dry-run asked for approvals: %v", d.approvals)
			}
		})
	}
}

// dryRunVars are the variables each runbook needs beyond its drill file
// (paths the test owns).
func dryRunVars(t *testing.T, name string) []string {
	dir := t.TempDir()
	switch name {
	case "manager-snapshot-daily":
		return []string{"backup_dir=" + dir}
	case "manager-restore", "manager-cluster-whole-down":
		archive := filepath.Join(dir, "snapshot.zip")
		if err := os.WriteFile(archive, []byte("PK\x05\x06"+strings.Repeat("\x00", 18)), 0o600); err != nil {
			t.Fatal(err)
		}
		vars := []string{"snapshot_path=" + archive}
		if name == "manager-cluster-whole-down" {
			vars = append(vars, "certs_dir="+certsDir(t))
		}
		return vars
	}
	return nil
}

// certsDir is a saved copy of /etc/cloudify/ssl, as the first human step
// of the whole-cluster recovery leaves it.
func certsDir(t *testing.T) string {
	dir := t.TempDir()
	for _, f := range []string{"cloudify_internal_ca_cert.pem", "cloudify_internal_cert.pem", "cloudify_internal_key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("-----BEGIN TEST-----\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// clusterEstate is a three-manager cluster with an application, and a
// snapshot "nightly" whose restore brings back two scheduled executions, one
// of them overdue (seed 002), and older daily snapshots.
func clusterEstate() *simmanager.Estate {
	contents := &simmanager.Contents{
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
	}
	return &simmanager.Estate{
		Managers: []simmanager.EstateManager{
			{Hostname: "manager-1", PrivateIP: "10.0.0.5", PublicIP: "203.0.113.5"},
			{Hostname: "manager-2", PrivateIP: "10.0.0.6", PublicIP: "203.0.113.6"},
			{Hostname: "manager-3", PrivateIP: "10.0.0.7", PublicIP: "203.0.113.7"},
		},
		Snapshots: []simmanager.EstateSnapshot{
			{ID: "nightly", Status: "created", CreatedAt: "-3h", Contents: contents},
			{ID: "daily-00000000000000000000000001", Status: "created", CreatedAt: "-72h"},
			{ID: "daily-00000000000000000000000002", Status: "created", CreatedAt: "-48h"},
			{ID: "weekly-1", Status: "created", CreatedAt: "-96h"},
		},
	}
}

// archiveOf downloads a snapshot's archive from the simulator into a file
// (what the daily runbook leaves in its backup directory).
func archiveOf(t *testing.T, d *drill, id string) string {
	t.Helper()
	req, _ := http.NewRequest("GET", d.url+"/api/v3.1/snapshots/"+id+"/archive", nil)
	req.SetBasicAuth("admin", "admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var b bytes.Buffer
	if _, err := b.ReadFrom(resp.Body); err != nil || resp.StatusCode != 200 {
		t.Fatalf("archive of %s: %s %v", id, resp.Status, err)
	}
	path := filepath.Join(t.TempDir(), id+".zip")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// get reads an API path with the faults cleared.
func (d *drill) get(path string, out any) {
	d.t.Helper()
	resp, err := http.Post(d.url+"/_sim/faults", "application/json", strings.NewReader("{}"))
	if err != nil {
		d.t.Fatal(err)
	}
	_ = resp.Body.Close()
	req, _ := http.NewRequest("GET", d.url+"/api/v3.1"+path, nil)
	req.SetBasicAuth("admin", "admin")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		d.t.Fatalf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		d.t.Fatal(err)
	}
}

// snapshotIDs lists the manager's snapshots, sorted.
func snapshotIDs(t *testing.T, d *drill) []string {
	t.Helper()
	var l struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	d.get("/snapshots", &l)
	var ids []string
	for _, s := range l.Items {
		ids = append(ids, s.ID)
	}
	sort.Strings(ids)
	return ids
}
