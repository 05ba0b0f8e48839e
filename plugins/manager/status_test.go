package manager_test

import (
	"strings"
	"testing"
	"time"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/plugins/provider"
)

func clusterEstate() *simmanager.Estate {
	e := liveEstate()
	e.Managers = []simmanager.EstateManager{
		{Hostname: "manager-1", PrivateIP: "10.0.0.5", PublicIP: "203.0.113.5"},
		{Hostname: "manager-2", PrivateIP: "10.0.0.6"},
		{Hostname: "manager-3", PrivateIP: "10.0.0.7"},
	}
	return e
}

func TestClusterStatus(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: clusterEstate()})
	h := newHarness(t, s, nil)

	ok := h.apply("manager.cluster_status", obj{})
	if ok.str("status") != "OK" || len(strings_(ok.out.GetAttr("failed_managers"))) != 0 {
		t.Errorf("healthy cluster: %#v", ok.out)
	}
	if got := strings.Join(strings_(ok.out.GetAttr("managers")), ","); got != "manager-1,manager-2,manager-3" {
		t.Errorf("managers %s", got)
	}
	if svc := ok.out.GetAttr("services").AsValueMap(); len(svc) != 3 || svc["db"].AsString() != "OK" {
		t.Errorf("services %#v", svc)
	}
	nodes := objects(ok.out.GetAttr("nodes"))
	if len(nodes) != 9 || nodes[0]["service"] != "broker" || nodes[3]["service"] != "db" || nodes[6]["name"] != "manager-1" || nodes[6]["private_ip"] != "10.0.0.5" {
		t.Errorf("nodes %v", nodes)
	}

	s.faults(t, simmanager.Faults{ClusterNodes: map[string]string{"manager-2": "Fail"}})
	deg := h.apply("manager.cluster_status", obj{})
	if deg.str("status") != "Degraded" || strings.Join(strings_(deg.out.GetAttr("failed_managers")), ",") != "manager-2" {
		t.Errorf("degraded cluster: %#v", deg.out)
	}
	// Plan reads it too: a dry-run shows the failed node.
	planned, err := h.plan("manager.cluster_status", obj{})
	if err != nil || !planned.GetAttr("failed_managers").IsKnown() {
		t.Errorf("plan %#v %v", planned, err)
	}
	// wait_for polls until the node is back.
	go func() {
		time.Sleep(60 * time.Millisecond)
		_ = s.SetFaults(simmanager.Faults{ClusterNodes: map[string]string{"manager-2": "OK"}})
	}()
	back := h.apply("manager.cluster_status", obj{"wait_for": []string{"OK"}})
	if back.str("status") != "OK" || !strings.Contains(back.logs(), "cluster status Degraded (failed managers: manager-2); waiting for OK") {
		t.Errorf("wait_for: %#v\n%s", back.out, back.logs())
	}
	planned, err = h.plan("manager.cluster_status", obj{"wait_for": []string{"OK"}})
	if err != nil || planned.GetAttr("status").IsKnown() {
		t.Errorf("plan of a wait: %#v %v, want unknown outputs", planned, err)
	}
	pe := h.fail("manager.cluster_status", obj{"wait_for": []string{"Green"}})
	wantError(t, pe, false, `"Green" is not a cluster status`)

	// The summary of a failed cluster is a 500 with the status: not an error.
	s.faults(t, simmanager.Faults{ClusterNodes: map[string]string{"manager-1": "Fail", "manager-2": "Fail", "manager-3": "Fail"}})
	fail := h.apply("manager.cluster_status", obj{"summary": true})
	if fail.str("status") != "Fail" {
		t.Errorf("failed cluster summary: %#v", fail.out)
	}
}

func TestManagerStatus(t *testing.T) {
	s := startSim(t, simmanager.Options{})
	h := newHarness(t, s, nil)
	st := h.apply("manager.manager_status", obj{})
	if st.str("status") != "OK" || !st.out.GetAttr("healthy").True() || st.str("version") != "7.0.4" || len(objects(st.out.GetAttr("services"))) == 0 {
		t.Errorf("status %#v", st.out)
	}
	s.faults(t, simmanager.Faults{ClusterNodes: map[string]string{"cfy-manager": "Fail"}})
	st = h.apply("manager.manager_status", obj{})
	if st.str("status") != "Fail" || st.out.GetAttr("healthy").True() {
		t.Errorf("failed manager %#v", st.out)
	}
}

func TestPluginsUpdate(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: liveEstate()})
	h := newHarness(t, s, nil)
	started := time.Now()
	res := h.apply("manager.plugins_update", obj{"blueprint_id": "app", "force": true})
	if res.str("state") != "successful" || strings.Join(strings_(res.out.GetAttr("deployments_to_update")), ",") != "app-prod" || res.str("execution_id") == "" {
		t.Errorf("update: %#v\n%s", res.out, res.logs())
	}
	if !strings.Contains(res.logs(), "'update_plugin' workflow execution succeeded") {
		t.Errorf("the update's events are not in the log:\n%s", res.logs())
	}
	resp, err := h.check("manager.plugins_update", obj{"blueprint_id": "app"}, started)
	if err != nil || resp.Result != provider.Applied || resp.Outputs.GetAttr("id").AsString() != res.str("id") {
		t.Errorf("Check: %+v %v", resp, err)
	}
	resp, err = h.check("manager.plugins_update", obj{"blueprint_id": "app"}, time.Now().Add(time.Minute))
	if err != nil || resp.Result != provider.NotApplied {
		t.Errorf("Check with nothing newer: %+v %v", resp, err)
	}
	// Everything is up to date now.
	again := h.apply("manager.plugins_update", obj{"blueprint_id": "app"})
	if again.str("state") != "no_changes_required" {
		t.Errorf("second update: %#v", again.out)
	}
	pe := h.fail("manager.plugins_update", obj{"blueprint_id": "gone"})
	wantError(t, pe, false, "POST /api/v3.1/plugins-updates/gone/update/initiate", "404 not_found_error")
	pe = h.fail("manager.plugins_update", obj{"blueprint_id": "app", "mapping": "x"})
	wantError(t, pe, false, "mapping")
}
