package manager_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/plugins/manager"
	"github.com/runbook-dev/runbook/plugins/manager/client"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/providertest"
)

// pluginBin is cmd/runbook-provider-manager, built once by TestMain.
var pluginBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runbook-provider-manager-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginBin, err = providertest.Build("./cmd/runbook-provider-manager", dir, "runbook-provider-manager")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// TestPluginProcess runs the provider as runbook does: a real process
// through go-plugin (handshake, gRPC, automatic mutual TLS).
func TestPluginProcess(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: estate(), Timing: simmanager.Timing{Workflows: map[string]time.Duration{"heal": time.Minute}}})
	p := providertest.Launch(t, pluginBin)
	ctx := context.Background()

	got, err := p.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := manager.New().Schema(ctx)
	if got.Version != manager.Version || len(got.Actions) != len(want.Actions) {
		t.Fatalf("schema: version %s, %d actions; want %s, %d", got.Version, len(got.Actions), manager.Version, len(want.Actions))
	}
	for name, a := range want.Actions {
		b := got.Actions[name]
		if b == nil || b.Mutating != a.Mutating || b.Idempotent != a.Idempotent || !b.OutputType().Equals(a.OutputType()) {
			t.Errorf("action %s over gRPC: %+v, in-process %+v", name, b, a)
		}
	}
	if pw := got.Config.Attributes["password"]; pw == nil || !pw.Sensitive {
		t.Errorf("password is not sensitive: %+v", pw)
	}
	if err := p.Configure(ctx, val(config(s, nil))); err != nil {
		t.Fatalf("Configure: %v", err)
	}

	res := apply(ctx, p, "manager.snapshot_create", obj{"snapshot_id": "over-grpc", "include_credentials": true})
	if res.err != nil || res.str("status") != "created" {
		t.Fatalf("snapshot_create: %v %#v", res.err, res.out)
	}
	path := filepath.Join(t.TempDir(), "over-grpc.zip")
	res = apply(ctx, p, "manager.snapshot_download", obj{"snapshot_id": "over-grpc", "path": path})
	if res.err != nil {
		t.Fatalf("snapshot_download: %v", res.err)
	}
	progress, logs := 0, 0
	for _, ev := range res.events {
		switch ev.Kind {
		case provider.EventProgress:
			progress++
		case provider.EventLog:
			logs++
		}
	}
	if progress == 0 || logs == 0 {
		t.Errorf("events over gRPC: %d progress, %d log lines", progress, logs)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Errorf("archive: %v", err)
	}

	// Errors keep their message and retryable flag over gRPC.
	res = apply(ctx, p, "manager.snapshot_get", obj{"snapshot_id": "missing"})
	var pe *provider.Error
	if !errors.As(res.err, &pe) || pe.Retryable {
		t.Fatalf("snapshot_get missing: %v", res.err)
	}
	wantError(t, pe, false, "manager.snapshot_get: manager API GET /api/v3.1/snapshots/missing: 404 not_found_error")

	// The restore and its overdue executions, through the restart.
	res = apply(ctx, p, "manager.snapshot_restore", obj{"snapshot_id": "nightly", "force": true})
	if res.err != nil || len(objects(res.out.GetAttr("overdue_executions"))) != 1 {
		t.Fatalf("snapshot_restore: %v %#v", res.err, res.out)
	}

	// Check over gRPC.
	resp, err := p.Check(ctx, &provider.CheckRequest{
		Request: provider.Request{Action: "manager.snapshot_create", Inputs: val(obj{"snapshot_id": "over-grpc"})},
		Started: time.Now(),
	})
	if err != nil || resp.Result != provider.Applied || resp.Outputs.GetAttr("status").AsString() != "created" {
		t.Errorf("Check: %+v %v", resp, err)
	}

	// A call in flight is cancelled with its context.
	heal, err := newClient(t, s).Executions.Start(ctx, "app-prod", "heal", nil, client.StartOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	var werr error
	go func() {
		defer wg.Done()
		_, werr = p.Apply(cctx, &provider.Request{Action: "manager.execution_wait",
			Inputs: cty.ObjectVal(map[string]cty.Value{"execution_id": cty.StringVal(heal.ID),
				"logs": cty.NullVal(cty.Bool), "fail_on_error": cty.NullVal(cty.Bool)})})
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	wg.Wait()
	if werr == nil || !strings.Contains(werr.Error(), "canceled") {
		t.Errorf("a cancelled wait: %v", werr)
	}

	// Unreachable manager: retryable over gRPC.
	p2 := providertest.Launch(t, pluginBin)
	if err := p2.Configure(ctx, val(obj{"endpoint": closedPort(t), "username": "admin", "password": "admin"})); err != nil {
		t.Fatal(err)
	}
	res = apply(ctx, p2, "manager.snapshot_list", obj{})
	if !errors.As(res.err, &pe) || !pe.Retryable {
		t.Errorf("manager down over gRPC: %v, want retryable", res.err)
	}
}
