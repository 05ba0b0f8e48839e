package manager_test

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/plugins/manager/client"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// Seed 002's special case: scheduled executions that are overdue when the
// restore ends are marked failed; snapshot_restore reports them.
func TestSnapshotRestoreReportsOverdueExecutions(t *testing.T) {
	for _, maintenance := range []bool{false, true} {
		name := "no maintenance"
		if maintenance {
			name = "in maintenance mode"
		}
		t.Run(name, func(t *testing.T) {
			s := startSim(t, simmanager.Options{Estate: estate()})
			h := newHarness(t, s, nil)
			if maintenance {
				h.apply("manager.maintenance_activate", obj{})
			}
			res := h.apply("manager.snapshot_restore", obj{"snapshot_id": "nightly", "force": true, "timeout": "10m"})
			if res.str("status") != "terminated" || res.str("execution_id") == "" || res.str("snapshot_id") != "nightly" {
				t.Errorf("outputs %#v", res.out)
			}
			overdue := objects(res.out.GetAttr("overdue_executions"))
			if len(overdue) != 1 || overdue[0]["id"] != "heal-0400" || overdue[0]["status"] != "failed" ||
				!strings.Contains(overdue[0]["message"], "is overdue. Marking as FAILED.") {
				t.Fatalf("overdue %v, want heal-0400 only", overdue)
			}
			if n, _ := res.out.GetAttr("overdue_count").AsBigFloat().Int64(); n != 1 {
				t.Errorf("overdue_count %d", n)
			}
			if !maintenance && (overdue[0]["workflow_id"] != "heal" || overdue[0]["deployment_id"] != "app-prod") {
				t.Errorf("overdue execution not described: %v", overdue[0])
			}
			if logs := res.logs(); !strings.Contains(logs, "warn: scheduled execution heal-0400") {
				t.Errorf("no warning about heal-0400:\n%s", logs)
			}
			reqs := s.requests(t)
			if n := count(reqs, "POST", "/api/v3.1/snapshots/nightly/restore"); n != 1 {
				t.Errorf("%d restore requests", n)
			}
			// The other scheduled execution survived.
			c := newClient(t, s)
			x, err := c.Executions.Get(context.Background(), "heal-0800")
			if maintenance {
				h.apply("manager.maintenance_deactivate", obj{})
				x, err = c.Executions.Get(context.Background(), "heal-0800")
			}
			if err != nil || x.Status != "scheduled" {
				t.Errorf("heal-0800: %+v %v, want scheduled", x, err)
			}
		})
	}
}

func newClient(t *testing.T, s *sim) *client.Client {
	t.Helper()
	c, err := client.New(client.Config{Endpoint: s.URL, Username: "admin", Password: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestSnapshotRestoreFailures(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: liveEstate()})
	h := newHarness(t, s, nil)

	pe := h.fail("manager.snapshot_restore", obj{"snapshot_id": "missing"})
	wantError(t, pe, false, "manager.snapshot_restore", "POST /api/v3.1/snapshots/missing/restore", "404 not_found_error", "Requested `Snapshot` with ID `missing` was not found")
	pe = h.fail("manager.snapshot_restore", obj{"snapshot_id": "broken"})
	wantError(t, pe, false, "400 snapshot_action_error", "Failed snapshot cannot be restored")
	pe = h.fail("manager.snapshot_restore", obj{"snapshot_id": "nightly", "no_reboot": true})
	wantError(t, pe, false, "400 bad_parameters_error", "`no_reboot` is only relevant when `restore_certificates` is activated")
	pe = h.fail("manager.snapshot_restore", obj{"snapshot_id": "nightly", "timeout": "soon"})
	wantError(t, pe, false, `timeout "soon" is not a duration`)

	// The workflow refuses a manager with blueprints unless forced.
	pe = h.fail("manager.snapshot_restore", obj{"snapshot_id": "nightly"})
	wantError(t, pe, false, "snapshot nightly was not restored", "restore_snapshot", "failed", "Snapshot restoration on a non-empty manager is not permitted")
}

// Managers 4.x to 5.1 require recreate_deployments_envs; it is sent only
// when set, as are tenant_name and ignore_plugin_failure.
func TestSnapshotRestoreOlderManagers(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: estate(), Generation: simmanager.Generation50})
	h := newHarness(t, s, nil)
	pe := h.fail("manager.snapshot_restore", obj{"snapshot_id": "nightly"})
	wantError(t, pe, false, "400 bad_parameters_error", "recreate_deployments_envs")
	res := h.apply("manager.snapshot_restore", obj{
		"snapshot_id": "nightly", "recreate_deployments_envs": true, "tenant_name": "default_tenant", "ignore_plugin_failure": false,
	})
	if res.str("status") != "terminated" || len(objects(res.out.GetAttr("overdue_executions"))) != 1 {
		t.Errorf("outputs %#v", res.out)
	}
}

// A restore already running (an earlier attempt timed out) is waited for,
// not started twice.
func TestSnapshotRestoreAdoptsARunningRestore(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: estate(), Timing: simmanager.Timing{Restore: 300 * time.Millisecond}})
	h := newHarness(t, s, nil)
	first := h.apply("manager.snapshot_restore", obj{"snapshot_id": "nightly", "wait": false})
	if first.out.GetAttr("overdue_executions").IsNull() != true || !first.out.GetAttr("overdue_count").IsNull() {
		t.Errorf("without wait, the overdue executions are unknown: %#v", first.out)
	}
	// Wait until it runs.
	c := newClient(t, s)
	for {
		st, err := c.Snapshots.Status(context.Background())
		if err == nil && st.Running {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	second := h.apply("manager.snapshot_restore", obj{"snapshot_id": "nightly"})
	if second.str("execution_id") != first.str("execution_id") {
		t.Errorf("adopted %q, want %q", second.str("execution_id"), first.str("execution_id"))
	}
	if !strings.Contains(second.logs(), "already running") || len(objects(second.out.GetAttr("overdue_executions"))) != 1 {
		t.Errorf("second: %#v\n%s", second.out, second.logs())
	}
	if n := count(s.requests(t), "POST", "/api/v3.1/snapshots/nightly/restore"); n != 1 {
		t.Errorf("%d restore requests, want 1", n)
	}
}

func TestSnapshotRestoreCheck(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: estate()})
	h := newHarness(t, s, nil)
	in := obj{"snapshot_id": "nightly"}

	before := time.Now().Add(-time.Second)
	resp, err := h.check("manager.snapshot_restore", in, before)
	if err != nil || resp.Result != provider.NotApplied {
		t.Fatalf("before any restore: %+v %v, want NotApplied", resp, err)
	}
	res := h.apply("manager.snapshot_restore", in)
	resp, err = h.check("manager.snapshot_restore", in, before)
	if err != nil || resp.Result != provider.Applied {
		t.Fatalf("after the restore: %+v %v, want Applied", resp, err)
	}
	if got := resp.Outputs.GetAttr("execution_id").AsString(); got != res.str("execution_id") {
		t.Errorf("Check found %s, the restore was %s", got, res.str("execution_id"))
	}
	if len(objects(resp.Outputs.GetAttr("overdue_executions"))) != 1 {
		t.Errorf("Check outputs %#v", resp.Outputs)
	}
	resp, err = h.check("manager.snapshot_restore", in, time.Now().Add(time.Minute))
	if err != nil || resp.Result != provider.NotApplied {
		t.Errorf("a restore before the attempt: %+v %v, want NotApplied", resp, err)
	}
	resp, err = h.check("manager.snapshot_restore", in, time.Time{})
	if err != nil || resp.Result != provider.Unknown {
		t.Errorf("no start time: %+v %v, want Unknown", resp, err)
	}
	if got := mutating(s.requests(t)); len(got) != 1 {
		t.Errorf("mutating requests %v, want the one restore", got)
	}
}

func TestSnapshotStatusWait(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: estate()})
	h := newHarness(t, s, nil)
	idle := h.apply("manager.snapshot_status_wait", obj{})
	if idle.str("status") != "not-running" || idle.out.GetAttr("running").True() {
		t.Errorf("idle: %#v", idle.out)
	}
	start := h.apply("manager.snapshot_restore", obj{"snapshot_id": "nightly", "wait": false})
	done := h.apply("manager.snapshot_status_wait", obj{"execution_id": start.str("execution_id")})
	if done.str("status") != "not-running" {
		t.Errorf("after the restore: %#v", done.out)
	}
	c := newClient(t, s)
	x, err := c.Executions.Get(context.Background(), start.str("execution_id"))
	if err != nil || x.Status != "terminated" {
		t.Errorf("the restore is %+v %v after the wait, want terminated", x, err)
	}

	// Behind nginx, the restart answers 502: waited out too.
	s2 := simmanager.New(simmanager.Options{Estate: estate(), RestartMode: simmanager.Restart502})
	ts := httptest.NewServer(s2.Handler())
	defer ts.Close()
	h2 := newHarness(t, &sim{Server: s2, URL: ts.URL}, nil)
	res := h2.apply("manager.snapshot_restore", obj{"snapshot_id": "nightly"})
	if res.str("status") != "terminated" {
		t.Errorf("behind nginx: %#v", res.out)
	}
	saw502 := false
	for _, r := range s2.Requests() {
		saw502 = saw502 || r.Status == 502
	}
	if !saw502 {
		t.Error("no request met the restart window: the test proves nothing")
	}
}
