package manager_test

import (
	"context"
	"path/filepath"
	"sort"
	"testing"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/plugins/manager"
)

// Plan (dry-run) never sends a mutating request; mutating actions send no
// request at all, read-only ones read.
func TestPlanSendsNoMutatingRequest(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: clusterEstate()})
	h := newHarness(t, s, nil)
	dir := t.TempDir()
	inputs := map[string]obj{
		"snapshot_create":        {"snapshot_id": "new", "include_credentials": true},
		"snapshot_list":          {},
		"snapshot_get":           {"snapshot_id": "nightly"},
		"snapshot_download":      {"snapshot_id": "nightly", "path": filepath.Join(dir, "n.zip")},
		"snapshot_upload":        {"snapshot_id": "up", "path": filepath.Join(dir, "n.zip")},
		"snapshot_restore":       {"snapshot_id": "nightly", "force": true, "timeout": "5m"},
		"snapshot_status_wait":   {},
		"snapshot_delete":        {"snapshot_id": "nightly"},
		"maintenance_activate":   {},
		"maintenance_deactivate": {},
		"maintenance_status":     {},
		"execution_start":        {"workflow_id": "install_new_agents", "deployment_id": "app-prod", "parameters": obj{"stop_old_agent": true}, "wait": true},
		"execution_wait":         {"execution_id": "x"},
		"execution_cancel":       {"execution_id": "x"},
		"plugins_update":         {"blueprint_id": "app"},
		"cluster_status":         {},
		"manager_status":         {},
	}
	schema, err := manager.New().Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range schema.Actions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		in, ok := inputs[name]
		if !ok {
			t.Errorf("action %s has no Plan test", name)
			continue
		}
		before := len(s.requests(t))
		out, err := h.plan("manager."+name, in)
		if err != nil {
			t.Errorf("Plan %s: %v", name, err)
			continue
		}
		reqs := s.requests(t)[before:]
		if got := mutating(reqs); len(got) > 0 {
			t.Errorf("Plan %s sent %v", name, got)
		}
		if schema.Actions[name].Mutating && len(reqs) > 0 {
			t.Errorf("Plan of the mutating %s sent %d requests", name, len(reqs))
		}
		if !out.Type().IsObjectType() {
			t.Errorf("Plan %s: outputs %#v", name, out)
		}
	}
	// What a dry-run can know.
	out, _ := h.plan("manager.snapshot_create", inputs["snapshot_create"])
	if out.GetAttr("snapshot_id").AsString() != "new" || out.GetAttr("execution_id").IsKnown() {
		t.Errorf("snapshot_create plan %#v", out)
	}
	out, _ = h.plan("manager.snapshot_list", obj{})
	if len(strings_(out.GetAttr("ids"))) != 2 {
		t.Errorf("snapshot_list plan %#v", out)
	}
	out, _ = h.plan("manager.snapshot_get", obj{"snapshot_id": "made-later"})
	if out.GetAttr("status").IsKnown() {
		t.Errorf("a snapshot an earlier step creates: %#v, want unknown status", out)
	}
	if _, err := h.plan("manager.snapshot_upload", obj{"snapshot_id": "x"}); err == nil {
		t.Error("Plan of an upload without path or url succeeded")
	}
}
