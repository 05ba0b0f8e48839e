package runbooks_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	simopenstack "github.com/runbook-dev/runbook/internal/sim/openstack"
	"github.com/runbook-dev/runbook/internal/state/local"
	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/openstack"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/providertest"
	"github.com/runbook-dev/runbook/runbook"
)

const haRunbook = "instance-ha-evacuate"

// haDrill runs instance-ha-evacuate against an OpenStack simulator seeded
// with its drill estate (compute-1 down with 8 instances).
func haDrill(t *testing.T, faults *simopenstack.Faults, dryRun bool, vars ...string) (*runbook.Result, *simopenstack.Server) {
	return haDrillWith(t, func() provider.Provider { return openstack.New() }, faults, dryRun, vars...)
}

// haDrillWith is haDrill with the openstack provider given by newOS: in
// process, or a plugin process.
func haDrillWith(t *testing.T, newOS func() provider.Provider, faults *simopenstack.Faults, dryRun bool, vars ...string) (*runbook.Result, *simopenstack.Server) {
	t.Helper()
	est, err := simopenstack.LoadEstate(filepath.Join(haRunbook, "drill.estate.json"))
	if err != nil {
		t.Fatal(err)
	}
	sim := simopenstack.New(simopenstack.Options{Estate: est})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	if faults != nil {
		if err := sim.SetFaults(*faults); err != nil {
			t.Fatal(err)
		}
	}
	l := dsl.NewLoader()
	cfg, diags := l.Load(haRunbook)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	args := []dsl.VarArg{{File: true, Value: filepath.Join(haRunbook, "drill.vars.hcl")}, {Value: "auth_url=" + url + "/v3"}}
	for _, v := range vars {
		args = append(args, dsl.VarArg{Value: v})
	}
	values, diags := l.ResolveVariables(cfg, []string{"RUNBOOK_VAR_admin_password=admin"}, args)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	backend, err := local.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := runbook.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	ops, err := openstack.New().Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	e := &runbook.Engine{
		Schemas: dsl.Schemas{"core": core.Schema(), "openstack": ops},
		Providers: func(_ context.Context, name string) (provider.Provider, error) {
			switch name {
			case "core":
				return core.New(core.Options{Approver: func(context.Context, string) (string, error) { return "drill", nil }}), nil
			case "openstack":
				return newOS(), nil
			}
			return nil, fmt.Errorf("no provider %q", name)
		},
		Backend: backend, Sealer: sealer, Jitter: func() float64 { return 0 },
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, diags, err := e.Apply(ctx, cfg, runbook.ApplyOptions{Vars: values, DryRun: dryRun, AutoApprove: true})
	if diags.HasErrors() || err != nil {
		t.Fatalf("apply: %v %v", diags, err)
	}
	return res, sim
}

func output(res *runbook.Result, name string) cty.Value {
	for _, o := range res.Outputs {
		if o.Name == name {
			return o.Value
		}
	}
	return cty.NilVal
}

// TestInstanceHAEvacuate recovers compute-1's 8 instances by each method,
// with 5xx faults injected on Nova (the retry blocks carry the run).
func TestInstanceHAEvacuate(t *testing.T) {
	for _, method := range []string{"auto", "auto_priority", "reserved_host", "rh_priority"} {
		t.Run(method, func(t *testing.T) {
			faults := &simopenstack.Faults{Seed: 7, Rules: []simopenstack.FaultRule{
				{PathPrefix: "/compute/v2.1/os-services", ErrorRate: 1, ErrorStatus: 503, Times: 1},
				{PathPrefix: "/compute/v2.1/os-hypervisors", ErrorRate: 1, ErrorStatus: 503, Times: 1},
			}}
			res, _ := haDrill(t, faults, false, "recovery_method="+method)
			if res.Status != runbook.RunFinished {
				t.Fatalf("run %s", res.Status)
			}
			moves := output(res, "vm_moves")
			if n := moves.LengthInt(); n != 8 {
				t.Fatalf("%d moves, want 8: none may be dropped", n)
			}
			failed := 0
			for it := moves.ElementIterator(); it.Next(); {
				_, m := it.Element()
				switch m.GetAttr("status").AsString() {
				case "succeeded":
					if m.GetAttr("destination_host").AsString() == "compute-1" {
						t.Errorf("recovered onto the failed host: %#v", m)
					}
				case "failed":
					failed++
					t.Logf("not placed: %s: %s", m.GetAttr("name").AsString(), m.GetAttr("message").AsString())
				}
			}
			// The reserved host holds all eight; auto keeps off it and
			// compute-2 cannot: what does not fit is reported failed with
			// the reason, never dropped, and the status says so.
			want := "finished"
			if failed > 0 {
				want = "error"
			}
			if (method == "reserved_host" || method == "rh_priority") && failed > 0 {
				t.Errorf("%s left %d instances unplaced", method, failed)
			}
			if s := output(res, "status"); s == cty.NilVal || s.AsString() != want {
				t.Fatalf("status %#v, want %s (%d failed)", s, want, failed)
			}
		})
	}
}

// TestInstanceHAEvacuateFailure: an evacuation Nova ends in ERROR is
// reported failed in the moves, never dropped, and the status is error.
func TestInstanceHAEvacuateFailure(t *testing.T) {
	res, _ := haDrill(t, &simopenstack.Faults{FailEvacuations: map[string]string{"db-1": "disk not found"}}, false)
	if s := output(res, "status"); s == cty.NilVal || s.AsString() != "error" {
		t.Fatalf("status %#v", s)
	}
	failed := 0
	for it := output(res, "vm_moves").ElementIterator(); it.Next(); {
		_, m := it.Element()
		if m.GetAttr("status").AsString() == "failed" {
			failed++
		}
	}
	if failed != 1 {
		t.Fatalf("%d failed moves, want 1", failed)
	}
}

// TestInstanceHADryRun: a dry-run sends no mutating request to the cloud.
func TestInstanceHADryRun(t *testing.T) {
	_, sim := haDrill(t, nil, true)
	for _, r := range sim.Requests() {
		if slices.Contains([]string{"PUT", "PATCH", "DELETE"}, r.Method) || (r.Method == "POST" && r.Path != "/v3/auth/tokens") {
			t.Errorf("dry-run sent %s %s", r.Method, r.Path)
		}
	}
}

// TestInstanceHAThroughPlugin runs the runbook with the openstack provider
// as runbook does: a plugin process over go-plugin, with faults on Nova.
func TestInstanceHAThroughPlugin(t *testing.T) {
	bin, err := providertest.Build("github.com/runbook-dev/runbook/plugins/openstack/cmd/runbook-provider-openstack", t.TempDir(), "runbook-provider-openstack")
	if err != nil {
		t.Fatal(err)
	}
	faults := &simopenstack.Faults{Seed: 11, Rules: []simopenstack.FaultRule{
		{PathPrefix: "/compute/v2.1/os-services", ErrorRate: 1, ErrorStatus: 503, Times: 1},
	}}
	res, _ := haDrillWith(t, func() provider.Provider { return providertest.Launch(t, bin) }, faults, false, "recovery_method=rh_priority")
	if s := output(res, "status"); res.Status != runbook.RunFinished || s == cty.NilVal || s.AsString() != "finished" {
		t.Fatalf("run %s, status %#v", res.Status, s)
	}
	if n := output(res, "vm_moves").LengthInt(); n != 8 {
		t.Fatalf("%d moves, want 8", n)
	}
}
