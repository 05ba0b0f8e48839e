package runbooks_test

import (
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
)

// TestClusterNodeDown: manager-2 fails; the runbook names it in every
// instruction, and once the "operator" has joined the new node the cluster
// is OK again.
func TestClusterNodeDown(t *testing.T) {
	d := newDrill(t, clusterEstate())
	d.faults(simmanager.Faults{ClusterNodes: map[string]string{"manager-2": "Fail"}})
	d.onApprove = func(msg string) {
		if strings.HasPrefix(msg, "Join manager-2") {
			d.faults(simmanager.Faults{ClusterNodes: map[string]string{"manager-2": "OK"}})
		}
	}
	r := d.apply("manager-cluster-node-down", false)
	r.finished(t)
	if r.retried() == 0 {
		t.Error("no attempt failed: the faults were not exercised")
	}
	if str(r.outputs["replaced_node"]) != "manager-2" || str(r.outputs["cluster_status"]) != "OK" {
		t.Errorf("outputs %v", r.outputs)
	}
	if len(d.approvals) != 4 {
		t.Fatalf("%d approvals, want remove, destroy, bootstrap, join: %q", len(d.approvals), d.approvals)
	}
	for i, want := range []string{
		"cfy cluster remove manager-2",
		"openstack server delete --wait manager-2",
		"sudo cfy_manager install --private-ip 10.0.0.6 --public-ip 203.0.113.6",
		"cfy cluster join --cluster-host-ip 10.0.0.5 --cluster-node-name manager-2",
	} {
		if !strings.Contains(d.approvals[i], want) {
			t.Errorf("approval %d does not say %q:\n%s", i, want, d.approvals[i])
		}
	}
	t.Logf("instructions:\n%s", strings.Join(d.approvals, "\n"))
	if !strings.Contains(d.approvals[0], "10.0.0.6, 203.0.113.6") {
		t.Errorf("the instructions do not give the node's addresses:\n%s", d.approvals[0])
	}
}

// Nothing failing: the runbook stops before any instruction.
func TestClusterNodeDownNothingToDo(t *testing.T) {
	d := newDrill(t, clusterEstate())
	r := d.apply("manager-cluster-node-down", false)
	if r.Status != "failed" || len(d.approvals) != 0 || !strings.Contains(r.log, "No manager of the cluster is failing") {
		t.Errorf("run %s, approvals %q\n%s", r.Status, d.approvals, r.log)
	}
}

// TestActiveNodeDown: manager-2, the active manager, fails; the endpoint
// reaches manager-1, which the simulator makes answer /status (its first
// node), as a surviving manager behind the cluster's address would. Both
// ways out: replace (destroy, install, join) and fix.
func TestActiveNodeDown(t *testing.T) {
	tests := []struct {
		resolution string
		approvals  []string
		skipped    []string
	}{
		{"replace", []string{"Investigate why manager-2", "Destroy manager-2", "Install a manager named manager-2", "Join manager-2"},
			[]string{"step.fix", "step.healthy_fixed"}},
		{"fix", []string{"Investigate why manager-2", "Fix the problem on manager-2"},
			[]string{"step.destroy", "step.install", "step.join", "step.healthy_replaced"}},
	}
	for _, tt := range tests {
		t.Run(tt.resolution, func(t *testing.T) {
			d := newDrill(t, clusterEstate())
			d.faults(simmanager.Faults{ClusterNodes: map[string]string{"manager-2": "Fail"}})
			last := tt.approvals[len(tt.approvals)-1]
			d.onApprove = func(msg string) {
				if strings.HasPrefix(msg, last) {
					d.faults(simmanager.Faults{ClusterNodes: map[string]string{"manager-2": "OK"}})
				}
			}
			r := d.apply("manager-active-node-down", false, "resolution="+tt.resolution)
			r.finished(t)
			if r.retried() == 0 {
				t.Error("no attempt failed: the faults were not exercised")
			}
			if len(d.approvals) != len(tt.approvals) {
				t.Fatalf("approvals %q, want %q", d.approvals, tt.approvals)
			}
			for i, want := range tt.approvals {
				if !strings.HasPrefix(d.approvals[i], want) {
					t.Errorf("approval %d: %q, want %q...", i, d.approvals[i], want)
				}
			}
			for _, s := range tt.skipped {
				if r.step(s) != "skipped" {
					t.Errorf("%s is %s, want skipped", s, r.step(s))
				}
			}
			if str(r.outputs["failed_node"]) != "manager-2" || str(r.outputs["cluster_status"]) != "OK" {
				t.Errorf("outputs %v", r.outputs)
			}
		})
	}
}

// TestClusterWholeDown: the operator's four steps, then the new cluster is
// checked and the latest working snapshot restored on it, with faults on.
func TestClusterWholeDown(t *testing.T) {
	d := newDrill(t, clusterEstate())
	archive := archiveOf(t, d, "nightly")
	d.faults(simmanager.Faults{})
	certs := certsDir(t)
	r := d.apply("manager-cluster-whole-down", false, "snapshot_path="+archive, "certs_dir="+certs)
	r.finished(t)
	if r.retried() == 0 {
		t.Error("no attempt failed: the faults were not exercised")
	}
	if len(d.approvals) != 4 {
		t.Fatalf("approvals %q, want save, teardown, install, form", d.approvals)
	}
	t.Logf("instructions:\n%s", strings.Join(d.approvals, "\n"))
	for i, want := range []string{
		"sudo tar -czf /tmp/cloudify-ssl.tgz -C /etc/cloudify/ssl .",
		"sudo cfy_manager remove --force",
		"ca_cert_path: /etc/cloudify/ssl-saved/cloudify_internal_ca_cert.pem",
		"cfy cluster start --cluster-node-name manager-1",
	} {
		if !strings.Contains(d.approvals[i], want) {
			t.Errorf("approval %d does not say %q:\n%s", i, want, d.approvals[i])
		}
	}
	if got := list(r.outputs["certificates"]); len(got) != 3 {
		t.Errorf("certificates %v", got)
	}
	overdue := r.outputs["overdue_executions"]
	if overdue.LengthInt() != 1 || str(overdue.Index(cty.NumberIntVal(0)).GetAttr("id")) != "heal-0400" {
		t.Errorf("overdue_executions %#v", overdue)
	}
	if str(r.outputs["cluster_status"]) != "OK" {
		t.Errorf("outputs %v", r.outputs)
	}
}

// Without the saved CA certificate the runbook stops before the teardown.
func TestClusterWholeDownNeedsTheCA(t *testing.T) {
	d := newDrill(t, clusterEstate())
	archive := archiveOf(t, d, "nightly")
	r := d.apply("manager-cluster-whole-down", false, "snapshot_path="+archive, "certs_dir="+t.TempDir())
	if r.Status != "failed" || r.step("step.certs") != "failed" || len(d.approvals) != 1 {
		t.Fatalf("run %s, certs %s, approvals %d\n%s", r.Status, r.step("step.certs"), len(d.approvals), r.log)
	}
	// Only the finally step's deactivation, which changes nothing (304).
	for _, q := range d.requests() {
		noop := q.Path == "/api/v3.1/maintenance/deactivate" && q.Status == 304
		if q.Method != "GET" && !noop {
			t.Errorf("the manager was changed: %s %s %d", q.Method, q.Path, q.Status)
		}
	}
}
