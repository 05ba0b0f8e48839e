package manager

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// restoreEstate: a fresh manager (nothing installed) holding an uploaded
// snapshot whose contents carry two scheduled executions, one due before
// the restore (overdue) and one after (seed 002's special case).
const restoreEstate = `{
  "snapshots": [{
    "id": "nightly", "status": "uploaded", "created_at": "-3h",
    "contents": {
      "blueprints": [{"id": "app", "plugins": [{"package_name": "cloudify-openstack-plugin", "package_version": "3.2.0"}]}],
      "deployments": [{"id": "app-prod", "blueprint_id": "app"}],
      "executions": [
        {"id": "done-install", "workflow_id": "install", "deployment_id": "app-prod", "status": "terminated", "created_at": "-5h"},
        {"id": "at-four", "workflow_id": "heal", "deployment_id": "app-prod", "status": "scheduled", "scheduled_for": "-1h"},
        {"id": "at-eight", "workflow_id": "heal", "deployment_id": "app-prod", "status": "scheduled", "scheduled_for": "+2h"}
      ]
    }
  }]
}`

func TestRestoreUnavailabilityAndRecovery(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, restoreEstate)})
	if n := len(s.do(req{path: "blueprints"}).want(200).items()); n != 0 {
		t.Fatalf("fresh manager has %d blueprints", n)
	}
	body := map[string]any{"force": false, "restore_certificates": false, "no_reboot": false}
	r := s.do(req{method: "POST", path: "snapshots/nightly/restore", body: body}).want(200).json()
	// marshal_with(models.Snapshot): only the Snapshot fields come back.
	if r["status"] != "pending" || r["workflow_id"] != nil || r["id"] == nil || r["tenant_name"] != "default_tenant" {
		t.Fatalf("restore answered %v", r)
	}
	execID := r["id"].(string)
	if st := s.do(req{path: "snapshot-status", noAuth: true}).want(200).json(); st["status"] != "not-running" {
		t.Fatalf("before the restore starts: %v", st)
	}

	s.advance(10 * time.Millisecond) // started: the restore is running
	if st := s.do(req{path: "snapshot-status", noAuth: true}).want(200).json(); st["status"] != "running" {
		t.Fatalf("while restoring: %v", st)
	}
	s.do(req{path: "executions/" + execID}).wantError(503, "in_snapshot_restore_error", "")
	s.do(req{path: "blueprints"}).wantError(503, "in_snapshot_restore_error", "")
	s.do(req{path: "cluster-status"}).wantError(503, "in_snapshot_restore_error", "")
	s.do(req{path: "ok", noAuth: true}).want(200)
	s.do(req{path: "version"}).want(200)

	s.advance(50 * time.Millisecond) // the manager restarts: nginx answers 502
	for _, p := range []string{"snapshot-status", "ok", "executions/" + execID} {
		rr := s.do(req{path: p})
		if rr.code != http.StatusBadGateway || !strings.Contains(string(rr.raw), "502 Bad Gateway") {
			t.Fatalf("%s while restarting: %d %s", p, rr.code, rr.raw)
		}
	}

	s.advance(100 * time.Millisecond) // back
	if st := s.do(req{path: "snapshot-status", noAuth: true}).want(200).json(); st["status"] != "not-running" {
		t.Fatalf("after the restore: %v", st)
	}
	x := s.do(req{path: "executions/" + execID}).want(200).json()
	if x["status"] != "terminated" || x["workflow_id"] != "restore_snapshot" || x["parameters"].(map[string]any)["force"] != false {
		t.Fatalf("restore execution: %v", x)
	}
	if items := s.do(req{path: "blueprints"}).want(200).items(); len(items) != 1 || items[0].(map[string]any)["id"] != "app" {
		t.Fatalf("blueprints after the restore: %v", items)
	}
	if st := s.execStatus("at-four"); st != "failed" {
		t.Fatalf("overdue scheduled execution: %s", st)
	}
	if st := s.execStatus("at-eight"); st != "scheduled" {
		t.Fatalf("future scheduled execution: %s", st)
	}
	logs := s.do(req{path: "events?execution_id=" + execID + "&type=cloudify_log"}).want(200).items()
	want := "Execution at-four scheduled for 2024-03-13T02:00:00.000Z is overdue. Marking as FAILED."
	found := false
	for _, l := range logs {
		m := l.(map[string]any)
		if m["message"] == want && m["level"] == "info" {
			found = true
		}
		if _, ok := m["event_type"]; ok {
			t.Fatalf("a cloudify_log item has event_type: %v", m)
		}
	}
	if !found {
		t.Fatalf("no overdue log line in %v", logs)
	}
	// The future one runs when due.
	s.advance(2 * time.Hour)
	s.advance(time.Second)
	if st := s.execStatus("at-eight"); st != "terminated" {
		t.Fatalf("at-eight after its time: %s", st)
	}
	// A second restore without force fails in the workflow: the manager is not empty.
	r = s.do(req{method: "POST", path: "snapshots/nightly/restore", body: body}).want(200).json()
	s.advance(100 * time.Millisecond)
	x = s.do(req{path: "executions/" + r["id"].(string)}).want(200).json()
	if x["status"] != "failed" || !strings.HasPrefix(x["error"].(string), "Snapshot restoration on a non-empty manager is not permitted") {
		t.Fatalf("restore onto a non-empty manager: %v", x)
	}
}

func TestRestoreOfCreatedSnapshot(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, `{
	  "blueprints": [{"id": "bp"}],
	  "deployments": [{"id": "dep", "blueprint_id": "bp"}]
	}`)})
	s.do(req{method: "PUT", path: "snapshots/before", body: map[string]any{}}).want(201)
	s.advance(100 * time.Millisecond)
	archive := s.do(req{path: "snapshots/before/archive"}).want(200).raw

	// A new manager: empty, the archive uploaded, restored.
	fresh := newSim(t, Options{})
	fresh.do(req{method: "PUT", path: "snapshots/before/archive", body: archive, ctype: "application/octet-stream"}).want(201)
	fresh.do(req{method: "POST", path: "snapshots/before/restore", body: map[string]any{"force": true}}).want(200)
	fresh.advance(time.Second)
	if items := fresh.do(req{path: "deployments"}).want(200).items(); len(items) != 1 || items[0].(map[string]any)["id"] != "dep" {
		t.Fatalf("deployments after restoring the downloaded archive: %v", items)
	}
}

func TestRestoreRequestErrors(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, restoreEstate)})
	p := "snapshots/nightly/restore"
	s.do(req{method: "POST", path: p, body: map[string]any{}}).wantError(500, "internal_server_error", "'force'")
	s.do(req{method: "POST", path: p, body: map[string]any{"force": nil}}).wantError(400, "bad_parameters_error", "force must be <true/false>, got None")
	s.do(req{method: "POST", path: p, body: map[string]any{"force": "TRUE", "no_reboot": true}}).
		wantError(400, "bad_parameters_error", "`no_reboot` is only relevant when `restore_certificates` is activated")
	s.do(req{method: "POST", path: p, body: map[string]any{"force": true, "timeout": "soon"}}).
		wantError(400, "bad_parameters_error", "invalid parameter, should be int, got: soon")
	s.do(req{method: "POST", path: "snapshots/missing/restore", body: map[string]any{"force": true}}).
		wantError(404, "not_found_error", "Requested `Snapshot` with ID `missing` was not found")
	s.do(req{method: "POST", path: p, body: "force=true", ctype: "application/x-www-form-urlencoded"}).
		wantError(415, "unsupported_content_type_error", "")
	// tenant_name and recreate_deployments_envs (older bodies) are accepted and ignored.
	s.do(req{method: "POST", path: p, body: map[string]any{"force": true, "tenant_name": "default_tenant", "recreate_deployments_envs": true}}).want(200)
	// A second restore while the first is pending is refused.
	s.do(req{method: "POST", path: p, body: map[string]any{"force": true}}).wantError(400, "existing_running_execution_error", "")
}

func TestRestore50(t *testing.T) {
	s := newSim(t, Options{Generation: Generation50, Estate: mustEstate(t, restoreEstate)})
	p := "snapshots/nightly/restore"
	s.do(req{method: "POST", path: p, body: map[string]any{"force": true}}).
		wantError(400, "bad_parameters_error", "Missing recreate_deployments_envs in json request body")
	s.do(req{method: "POST", path: p, body: map[string]any{"force": true, "recreate_deployments_envs": "maybe"}}).
		wantError(400, "bad_parameters_error", "recreate_deployments_envs must be <true/false>, got maybe")
	// Seed 002's body.
	body := map[string]any{"tenant_name": "default_tenant", "recreate_deployments_envs": true, "force": false, "restore_certificates": false, "no_reboot": false}
	s.do(req{method: "POST", path: p, body: body}).want(200)
	st := s.do(req{path: "snapshot-status", noAuth: true}).want(200).json()
	if st["status"] != "No `restore_snapshot` workflow currently running." {
		t.Fatalf("5.0 snapshot-status before: %q", st["status"])
	}
	s.advance(20 * time.Millisecond)
	st = s.do(req{path: "snapshot-status", noAuth: true}).want(200).json()
	if st["status"] != "Snapshot restore in progress...\nThis may take a while, depending on the snapshot size." {
		t.Fatalf("5.0 snapshot-status during: %q", st["status"])
	}
	s.advance(time.Second)
	st = s.do(req{path: "snapshot-status", noAuth: true}).want(200).json()
	if st["status"] != "No `restore_snapshot` workflow currently running." {
		t.Fatalf("5.0 snapshot-status after: %q", st["status"])
	}
}

func TestRestoreGateClusterStatusOnly(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, restoreEstate), RestoreGate: RestoreGateClusterStatus})
	s.do(req{method: "POST", path: "snapshots/nightly/restore", body: map[string]any{"force": true}}).want(200)
	s.advance(20 * time.Millisecond)
	s.do(req{path: "cluster-status"}).wantError(503, "in_snapshot_restore_error", "")
	s.do(req{path: "blueprints"}).want(200)
}

func TestRestoreFailsByFault(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, restoreEstate)})
	if err := s.srv.SetFaults(Faults{FailWorkflows: map[string]string{"restore_snapshot": "pg_restore: could not connect"}}); err != nil {
		t.Fatal(err)
	}
	r := s.do(req{method: "POST", path: "snapshots/nightly/restore", body: map[string]any{"force": true}}).want(200).json()
	s.advance(10 * time.Millisecond)
	s.do(req{path: "blueprints"}).wantError(503, "in_snapshot_restore_error", "")
	s.advance(50 * time.Millisecond) // fails instead of restarting
	x := s.do(req{path: "executions/" + r["id"].(string)}).want(200).json()
	if x["status"] != "failed" || x["error"] != "pg_restore: could not connect" {
		t.Fatalf("failed restore: %v", x)
	}
	if n := len(s.do(req{path: "blueprints"}).want(200).items()); n != 0 {
		t.Fatalf("a failed restore changed the manager: %d blueprints", n)
	}
	ev := s.do(req{path: "events?execution_id=" + r["id"].(string) + "&event_type=workflow_failed"}).want(200).items()
	if len(ev) != 1 || ev[0].(map[string]any)["message"] != "'restore_snapshot' workflow execution failed: pg_restore: could not connect" {
		t.Fatalf("workflow_failed events: %v", ev)
	}
}
