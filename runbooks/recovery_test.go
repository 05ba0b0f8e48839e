package runbooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/dsl"
	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	simopenstack "github.com/runbook-dev/runbook/internal/sim/openstack"
	"github.com/runbook-dev/runbook/plugins/openstack"
	"github.com/runbook-dev/runbook/plugins/provider"
)

const recoveryRunbook = "manager-recovery"

// The drill estate's manager port and floating IP (drill.estate.json).
const (
	recoveryPort    = "6f1f3b38-2f3c-4b8e-9a52-6c1d0f6f4b11"
	recoveryFixedIP = "10.0.0.5"
	recoveryFIP     = "203.0.113.10"
)

// recoveryDrill is seed 000 in-process: an OpenStack simulator holding the
// crashed manager VM (drill.estate.json) and a manager simulator standing
// for the new VM's manager (manager-drill.estate.json), with a snapshot
// archive taken from it beforehand.
type recoveryDrill struct {
	t       *testing.T
	os      *simopenstack.Server
	osURL   string
	mgr     *drill
	archive string
}

func newRecoveryDrill(t *testing.T) *recoveryDrill {
	t.Helper()
	est, err := simopenstack.LoadEstate(filepath.Join(recoveryRunbook, "drill.estate.json"))
	if err != nil {
		t.Fatal(err)
	}
	sim := simopenstack.New(simopenstack.Options{Estate: est})
	url, err := sim.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sim.Close)
	mest, err := simmanager.LoadEstate("manager-drill.estate.json")
	if err != nil {
		t.Fatal(err)
	}
	d := newDrill(t, mest)
	return &recoveryDrill{t: t, os: sim, osURL: url, mgr: d, archive: takeSnapshot(t, d, "before-crash")}
}

// takeSnapshot creates a snapshot on the manager simulator, waits for it and
// downloads its archive (cfy snapshots create, then download).
func takeSnapshot(t *testing.T, d *drill, id string) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPut, d.url+"/api/v3.1/snapshots/"+id, strings.NewReader(`{"include_credentials": true}`))
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("admin", "admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PUT snapshot: %s", resp.Status)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, d.url+"/api/v3.1/snapshots/"+id, nil)
		req.SetBasicAuth("admin", "admin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var s struct{ Status string }
		err = json.NewDecoder(resp.Body).Decode(&s)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if s.Status == "created" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot %s is %s", id, s.Status)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return archiveOf(t, d, id)
}

func (rd *recoveryDrill) providers(ctx context.Context, name string) (provider.Provider, error) {
	switch name {
	case "openstack":
		return openstack.New(), nil
	case "core", "manager":
		return rd.mgr.providers(ctx, name)
	}
	return nil, fmt.Errorf("no provider %q", name)
}

// apply runs manager-recovery with its drill variables pointed at both
// simulators, --auto-approve.
func (rd *recoveryDrill) apply(dryRun bool, vars ...string) *run {
	t := rd.t
	t.Helper()
	args := []dsl.VarArg{
		{File: true, Value: filepath.Join(recoveryRunbook, "drill.vars.hcl")},
		{Value: "auth_url=" + rd.osURL + "/v3"},
		{Value: "manager_endpoint=" + rd.mgr.url},
		{Value: "snapshot_path=" + rd.archive},
	}
	for _, v := range vars {
		args = append(args, dsl.VarArg{Value: v})
	}
	return applyDir(t, recoveryRunbook, rd.providers, []string{"RUNBOOK_VAR_admin_password=admin"}, args, dryRun)
}

// osGet reads the OpenStack simulator's API as admin.
func (rd *recoveryDrill) osGet(path string, out any) {
	t := rd.t
	t.Helper()
	body := `{"auth": {"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "domain": {"name": "Default"}, "password": "admin"}}},
	  "scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}`
	resp, err := http.Post(rd.osURL+"/v3/auth/tokens", "application/json", bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	token := resp.Header.Get("X-Subject-Token")
	if token == "" {
		t.Fatalf("no token: %s", resp.Status)
	}
	req, _ := http.NewRequest(http.MethodGet, rd.osURL+path, nil)
	req.Header.Set("X-Auth-Token", token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", path, resp.Status, b)
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func osMutating(reqs []simopenstack.RequestRecord) []string {
	var out []string
	for _, r := range reqs {
		switch r.Method {
		case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
			if r.Path == "/v3/auth/tokens" {
				continue // authenticating changes nothing in the cloud
			}
			out = append(out, r.Method+" "+r.Path)
		}
	}
	return out
}

// TestManagerRecovery: the crashed manager VM is replaced by a new ACTIVE
// one on the same port (same fixed IP), the floating IP points at that port
// again, and the snapshot is uploaded and restored on the manager.
func TestManagerRecovery(t *testing.T) {
	rd := newRecoveryDrill(t)
	var before struct {
		Server struct{ ID string } `json:"server"`
	}
	var list struct {
		Servers []struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Status string `json:"status"`
		} `json:"servers"`
	}
	rd.osGet("/compute/v2.1/servers/detail?name=^manager$", &list)
	if len(list.Servers) != 1 {
		t.Fatalf("estate servers %+v", list.Servers)
	}
	before.Server.ID = list.Servers[0].ID

	r := rd.apply(false)
	r.finished(t)
	t.Logf("log:\n%s", r.log)

	newID := str(r.outputs["new_server_id"])
	if newID == "" || newID == before.Server.ID {
		t.Fatalf("new_server_id %q (old %q)", newID, before.Server.ID)
	}
	if got := str(r.outputs["manager_url"]); got != rd.mgr.url {
		t.Errorf("manager_url %q, want the manager simulator %q", got, rd.mgr.url)
	}
	rd.osGet("/compute/v2.1/servers/detail?name=^manager$", &list)
	if len(list.Servers) != 1 || list.Servers[0].ID != newID || list.Servers[0].Status != "ACTIVE" {
		t.Fatalf("servers named manager: %+v, want only %s ACTIVE", list.Servers, newID)
	}
	var port struct {
		Port struct {
			DeviceID string `json:"device_id"`
			FixedIPs []struct {
				IPAddress string `json:"ip_address"`
			} `json:"fixed_ips"`
		} `json:"port"`
	}
	rd.osGet("/network/v2.0/ports/"+recoveryPort, &port)
	if port.Port.DeviceID != newID {
		t.Errorf("port device_id %q, want the new server %s", port.Port.DeviceID, newID)
	}
	if len(port.Port.FixedIPs) != 1 || port.Port.FixedIPs[0].IPAddress != recoveryFixedIP {
		t.Errorf("port fixed IPs %+v, want %s kept", port.Port.FixedIPs, recoveryFixedIP)
	}
	var fips struct {
		FloatingIPs []struct {
			PortID         string `json:"port_id"`
			FixedIPAddress string `json:"fixed_ip_address"`
		} `json:"floatingips"`
	}
	rd.osGet("/network/v2.0/floatingips?floating_ip_address="+recoveryFIP, &fips)
	if len(fips.FloatingIPs) != 1 || fips.FloatingIPs[0].PortID != recoveryPort || fips.FloatingIPs[0].FixedIPAddress != recoveryFixedIP {
		t.Errorf("floating IP %s: %+v, want on port %s (%s)", recoveryFIP, fips.FloatingIPs, recoveryPort, recoveryFixedIP)
	}

	// The manager side: upload, restore, reinstalled agents.
	var uploaded, restored, agents bool
	for _, q := range rd.mgr.requests() {
		switch {
		case q.Method == http.MethodPut && q.Path == "/api/v3.1/snapshots/recovery-drill/archive" && q.Status == http.StatusCreated:
			uploaded = true
		case q.Method == http.MethodPost && q.Path == "/api/v3.1/snapshots/recovery-drill/restore" && q.Status == http.StatusOK:
			restored = true
		case q.Method == http.MethodPost && q.Path == "/api/v3.1/executions" && q.Status == http.StatusCreated:
			agents = true
		}
	}
	if !uploaded || !restored || !agents {
		t.Errorf("manager requests: uploaded %v, restored %v, install_new_agents %v", uploaded, restored, agents)
	}
	if id := str(r.outputs["restore_execution_id"]); id == "" {
		t.Errorf("no restore_execution_id: %v", r.outputs)
	}
	for _, s := range []string{"step.terminate", "step.new_server", "step.restore", "step.restore_done"} {
		if st := r.step(s); st != "succeeded" {
			t.Errorf("%s %s", s, st)
		}
	}
}

// TestManagerRecoveryDryRun: a dry-run sends no mutating request to either
// simulator.
func TestManagerRecoveryDryRun(t *testing.T) {
	rd := newRecoveryDrill(t)
	before := len(rd.mgr.requests())
	r := rd.apply(true)
	r.finished(t)
	if got := osMutating(rd.os.Requests()); len(got) > 0 {
		t.Errorf("the dry-run sent to OpenStack: %v", got)
	}
	if got := mutating(rd.mgr.requests()[before:]); len(got) > 0 {
		t.Errorf("the dry-run sent to the manager: %v", got)
	}
	if len(rd.mgr.approvals) > 0 {
		t.Errorf("the dry-run asked for approvals: %v", rd.mgr.approvals)
	}
}

// TestManagerRecoveryWithFaults runs the recovery while both simulators
// answer some requests with 5xx errors: the runbook's retry blocks carry
// it to the end.
func TestManagerRecoveryWithFaults(t *testing.T) {
	rd := newRecoveryDrill(t)
	rd.mgr.faults(simmanager.Faults{})
	err := rd.os.SetFaults(simopenstack.Faults{Seed: 3, Rules: []simopenstack.FaultRule{
		{PathPrefix: "/network/v2.0/floatingips", ErrorRate: 1, ErrorStatus: 503, Times: 1},
		{PathPrefix: "/compute/v2.1/servers", Method: "GET", ErrorRate: 1, ErrorStatus: 503, Times: 1},
	}})
	if err != nil {
		t.Fatal(err)
	}
	r := rd.apply(false)
	r.finished(t)
	if r.retried() == 0 {
		t.Errorf("no step was retried: the faults did not bite\n%s", r.log)
	}
}
