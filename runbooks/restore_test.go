package runbooks_test

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
)

// TestRestore applies manager-restore with faults on: upload, maintenance,
// restore through the manager's restart, install_new_agents, plugins
// update, maintenance off; the overdue scheduled execution is reported.
func TestRestore(t *testing.T) {
	d := newDrill(t, clusterEstate())
	archive := archiveOf(t, d, "nightly")
	d.faults(simmanager.Faults{})
	r := d.apply("manager-restore", false, "snapshot_path="+archive)
	r.finished(t)
	if r.retried() == 0 {
		t.Error("no attempt failed: the faults were not exercised")
	}

	overdue := r.outputs["overdue_executions"]
	if overdue == cty.NilVal || overdue.LengthInt() != 1 {
		t.Fatalf("overdue_executions %#v, want heal-0400", overdue)
	}
	o := overdue.Index(cty.NumberIntVal(0))
	if str(o.GetAttr("id")) != "heal-0400" || str(o.GetAttr("status")) != "failed" {
		t.Errorf("overdue %#v", o)
	}
	if !strings.Contains(r.log, "scheduled execution heal-0400") {
		t.Errorf("the log does not warn about heal-0400:\n%s", r.log)
	}
	if got := r.outputs["agents"]; got == cty.NilVal || str(got.GetAttr("app-prod")) != "terminated" {
		t.Errorf("agents %#v", got)
	}
	if got := r.outputs["plugins_updates"]; got == cty.NilVal || str(got.GetAttr("app")) != "successful" {
		t.Errorf("plugins_updates %#v", got)
	}
	if r.step("step.leave_maintenance") != "succeeded" {
		t.Errorf("finally: %s", r.step("step.leave_maintenance"))
	}

	var m struct {
		Status string `json:"status"`
	}
	d.get("/maintenance", &m)
	if m.Status != "deactivated" {
		t.Errorf("maintenance %s after the run", m.Status)
	}
	var x struct {
		Status string `json:"status"`
	}
	d.get("/executions/heal-0800", &x)
	if x.Status != "scheduled" {
		t.Errorf("heal-0800 is %s, want scheduled (not overdue)", x.Status)
	}
	// One restore reached the manager (injected faults answer before it).
	n := 0
	for _, q := range d.requests() {
		if q.Method == "POST" && q.Path == "/api/v3.1/snapshots/restored-snapshot/restore" && q.Fault != "error" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d restores reached the manager, want 1", n)
	}
}

// A failed restore still leaves maintenance mode, through the finally step.
func TestRestoreFailureLeavesMaintenance(t *testing.T) {
	d := newDrill(t, clusterEstate())
	archive := archiveOf(t, d, "nightly")
	d.faults(simmanager.Faults{FailWorkflows: map[string]string{"restore_snapshot": "restore failed: database locked"}})
	r := d.apply("manager-restore", false, "snapshot_path="+archive)
	if r.Status != "failed" || r.step("step.restore") != "failed" || r.step("step.leave_maintenance") != "succeeded" {
		t.Fatalf("run %s, restore %s, finally %s\n%s", r.Status, r.step("step.restore"), r.step("step.leave_maintenance"), r.log)
	}
	if !strings.Contains(r.log, "database locked") {
		t.Errorf("the failure does not say why:\n%s", r.log)
	}
	var m struct {
		Status string `json:"status"`
	}
	d.get("/maintenance", &m)
	if m.Status != "deactivated" {
		t.Errorf("maintenance %s after the failed run", m.Status)
	}
}
