package openstack

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
)

const evacuateEstate = `{
  "hosts": [
    {"name": "compute-1"},
    {"name": "compute-2"},
    {"name": "compute-3", "memory_mb": 4608}
  ],
  "servers": [
    {"id": "0a000000-0000-4000-8000-000000000001", "name": "a", "host": "compute-1", "networks": ["private"]},
    {"id": "0a000000-0000-4000-8000-000000000002", "name": "b", "host": "compute-1", "networks": ["private"], "status": "SHUTOFF"},
    {"id": "0a000000-0000-4000-8000-000000000003", "name": "slow", "host": "compute-1", "networks": ["private"], "evacuate_time": "2s"},
    {"id": "0a000000-0000-4000-8000-000000000004", "name": "big", "host": "compute-1", "flavor": "m1.xlarge", "networks": ["private"]}
  ]
}`

const (
	srvA    = "0a000000-0000-4000-8000-000000000001"
	srvB    = "0a000000-0000-4000-8000-000000000002"
	srvSlow = "0a000000-0000-4000-8000-000000000003"
	srvBig  = "0a000000-0000-4000-8000-000000000004"
)

func (s *sim) evacuate(id, mv, body string) *res {
	s.t.Helper()
	return s.do(req{method: "POST", path: "/compute/v2.1/servers/" + id + "/action", mv: mv, body: `{"evacuate": ` + body + `}`})
}

func (s *sim) forceDown(host string) {
	s.t.Helper()
	s.do(req{method: "PUT", path: "/compute/v2.1/os-services/" + s.computeService(host, "2.53"), mv: "2.53", body: `{"forced_down": true}`}).want(http.StatusOK)
}

func (s *sim) setFaults(f Faults) {
	s.t.Helper()
	if err := s.srv.SetFaults(f); err != nil {
		s.t.Fatal(err)
	}
}

func TestEvacuateBodyPerMicroversion(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, evacuateEstate)})
	s.forceDown("compute-1")
	tests := []struct {
		name, mv, body string
		status         int
		message        string
	}{
		{"2.1 needs onSharedStorage", "2.1", `{"host": "compute-2"}`, 400,
			"Invalid input for field/attribute evacuate. Value: {'host': 'compute-2'}. 'onSharedStorage' is a required property"},
		{"2.13 rejects unknown keys", "2.13", `{"onSharedStorage": false, "force": true}`, 400,
			"Invalid input for field/attribute evacuate. Value: {'force': True, 'onSharedStorage': False}. Additional properties are not allowed ('force' was unexpected)"},
		{"2.13 no new password on shared storage", "2.13", `{"onSharedStorage": true, "adminPass": "x"}`, 400, "admin password can't be changed on existing disk"},
		{"2.14 rejects onSharedStorage", "2.14", `{"onSharedStorage": false}`, 400,
			"Invalid input for field/attribute evacuate. Value: {'onSharedStorage': False}. Additional properties are not allowed ('onSharedStorage' was unexpected)"},
		{"2.28 rejects force", "2.28", `{"host": "compute-2", "force": true}`, 400,
			"Invalid input for field/attribute evacuate. Value: {'force': True, 'host': 'compute-2'}. Additional properties are not allowed ('force' was unexpected)"},
		{"2.29 force needs a host", "2.29", `{"force": true}`, 400, "Can't force to a non-provided destination"},
		{"2.68 rejects force", "2.68", `{"host": "compute-2", "force": false}`, 400,
			"Invalid input for field/attribute evacuate. Value: {'force': False, 'host': 'compute-2'}. Additional properties are not allowed ('force' was unexpected)"},
		{"bad onSharedStorage", "2.1", `{"onSharedStorage": "maybe"}`, 400, ""},
		{"bad host type", "2.53", `{"host": 5}`, 400, ""},
		{"unknown host", "2.53", `{"host": "compute-9"}`, 404, "Compute host compute-9 not found."},
		{"same host", "2.53", `{"host": "compute-1"}`, 400, "The target host can't be the same one."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.evacuate(srvA, tt.mv, tt.body)
			r.t = t
			name := map[int]string{400: "badRequest", 404: "itemNotFound"}[tt.status]
			r.wantFault(tt.status, name, tt.message)
		})
	}
	s.evacuate("nope", "2.53", `{}`).wantFault(http.StatusNotFound, "itemNotFound", "Instance nope could not be found.")
	s.do(req{method: "POST", path: "/compute/v2.1/servers/" + srvA + "/action", mv: "2.53", token: s.memberToken(), body: `{"evacuate": {}}`}).
		wantFault(http.StatusForbidden, "forbidden", "Policy doesn't allow os_compute_api:os-evacuate to be performed.")
	// Nothing was started by the refusals.
	if st := s.server(srvA, "")["status"]; st != "ACTIVE" {
		t.Fatalf("status %v", st)
	}
}

func TestEvacuateNeedsTheSourceServiceDown(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, evacuateEstate)})
	msg := "Compute service of compute-1 is still in use."
	s.evacuate(srvA, "2.53", `{}`).wantFault(http.StatusBadRequest, "badRequest", msg)
	// Disabling is not enough: a disabled service still heartbeats.
	svc := s.computeService("compute-1", "2.53")
	s.do(req{method: "PUT", path: "/compute/v2.1/os-services/" + svc, mv: "2.53", body: `{"status": "disabled", "disabled_reason": "failed"}`}).want(http.StatusOK)
	s.evacuate(srvA, "2.53", `{}`).wantFault(http.StatusBadRequest, "badRequest", msg)
	// A failed host (heartbeats stopped) is down without forcing.
	s.setFaults(Faults{HostStates: map[string]string{"compute-1": "down"}})
	sv := s.do(req{path: "/compute/v2.1/os-services?host=compute-1&binary=nova-compute", mv: "2.53"}).want(http.StatusOK).json()["services"].([]any)[0].(map[string]any)
	if sv["state"] != "down" || sv["forced_down"] != false {
		t.Fatalf("failed host service %v", sv)
	}
	if hs := s.server(srvA, "2.16")["host_status"]; hs != "DOWN" {
		t.Fatalf("host_status %v", hs)
	}
	s.evacuate(srvA, "2.53", `{}`).want(http.StatusOK)
}

func TestEvacuationRunsAndMovesTheServer(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, evacuateEstate)})
	before := s.server(srvA, "")
	s.forceDown("compute-1")
	// Below 2.14 the answer carries the new admin password.
	r := s.evacuate(srvA, "2.13", `{"onSharedStorage": false}`).want(http.StatusOK)
	if pw, _ := r.json()["adminPass"].(string); len(pw) != 12 {
		t.Fatalf("2.13 answer %s", r.raw)
	}
	// From 2.14 the 200 has no body (gophercloud's ExtractAdminPass
	// tolerates the EOF).
	r = s.evacuate(srvB, "2.53", `{"host": "compute-2"}`).want(http.StatusOK)
	if len(r.raw) != 0 {
		t.Fatalf("2.53 answer %q", r.raw)
	}
	for _, id := range []string{srvA, srvB} {
		srv := s.server(id, "")
		if srv["status"] != "REBUILD" || srv["OS-EXT-STS:task_state"] != "rebuilding" || srv["OS-EXT-SRV-ATTR:host"] != "compute-1" {
			t.Fatalf("evacuating %v", srv)
		}
	}
	s.evacuate(srvA, "2.53", `{}`).wantFault(http.StatusConflict, "conflictingRequest",
		"Cannot 'evacuate' instance "+srvA+" while it is in task_state rebuilding")
	s.advance(49 * time.Millisecond)
	if s.server(srvA, "")["status"] != "REBUILD" {
		t.Fatal("done before L")
	}
	s.advance(time.Millisecond)
	a := s.server(srvA, "")
	if a["status"] != "ACTIVE" || a["OS-EXT-SRV-ATTR:host"] != "compute-2" || a["OS-EXT-STS:power_state"].(float64) != 1 {
		t.Fatalf("evacuated a %v", a)
	}
	// The server keeps its id, name and fixed IP; only the host changed.
	ab, _ := json.Marshal(before["addresses"])
	aa, _ := json.Marshal(a["addresses"])
	if string(ab) != string(aa) || a["name"] != "a" || a["hostId"] == before["hostId"] {
		t.Fatalf("addresses %s -> %s, hostId %v -> %v", ab, aa, before["hostId"], a["hostId"])
	}
	// A stopped server stays stopped.
	if b := s.server(srvB, ""); b["status"] != "SHUTOFF" || b["OS-EXT-SRV-ATTR:host"] != "compute-2" {
		t.Fatalf("evacuated b %v", b)
	}
	// Its port follows it.
	p := s.do(req{path: "/network/v2.0/ports?device_id=" + srvA}).want(http.StatusOK).json()["ports"].([]any)[0].(map[string]any)
	if p["binding:host_id"] != "compute-2" || p["status"] != "ACTIVE" {
		t.Fatalf("port %v", p)
	}
	// Migration records, and the instance action with its event.
	migs := s.do(req{path: "/compute/v2.1/os-migrations?migration_type=evacuation", mv: "2.59"}).want(http.StatusOK).json()["migrations"].([]any)
	if len(migs) != 2 || migs[0].(map[string]any)["status"] != "done" || migs[0].(map[string]any)["migration_type"] != "evacuation" {
		t.Fatalf("migrations %v", migs)
	}
	acts := s.do(req{path: "/compute/v2.1/servers/" + srvA + "/os-instance-actions"}).want(http.StatusOK).json()["instanceActions"].([]any)
	act := acts[0].(map[string]any)
	if act["action"] != "evacuate" {
		t.Fatalf("actions %v", acts)
	}
	ev := s.do(req{path: "/compute/v2.1/servers/" + srvA + "/os-instance-actions/" + act["request_id"].(string), mv: "2.62"}).want(http.StatusOK).json()["instanceAction"].(map[string]any)["events"].([]any)[0].(map[string]any)
	if ev["event"] != "compute_rebuild_instance" || ev["result"] != "Success" || ev["host"] != "compute-2" {
		t.Fatalf("event %v", ev)
	}
	// Un-forcing the source is refused while `done` evacuations remain,
	// until its nova-compute restarts and completes them.
	svc := s.computeService("compute-1", "2.53")
	s.do(req{method: "PUT", path: "/compute/v2.1/os-services/" + svc, mv: "2.53", body: map[string]any{"forced_down": false}}).
		wantFault(http.StatusBadRequest, "badRequest", "Unable to force up host compute-1 as `done` evacuation migration records remain associated with the host. Ensure the compute service has been restarted, allowing these records to move to `completed` before retrying this request.")
	s.setFaults(Faults{HostStates: map[string]string{"compute-1": "down"}})
	s.setFaults(Faults{HostStates: map[string]string{"compute-1": "up"}})
	s.do(req{method: "PUT", path: "/compute/v2.1/os-services/" + svc, mv: "2.53", body: map[string]any{"forced_down": false}}).want(http.StatusOK)
}

func TestEvacuationEndsInError(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, evacuateEstate)})
	s.forceDown("compute-1")
	// compute-3 has 4 GiB: the 16 GiB server does not fit there.
	s.evacuate(srvBig, "2.53", `{"host": "compute-3"}`).want(http.StatusOK)
	// An injected failure for one server.
	s.setFaults(Faults{FailEvacuations: map[string]string{"a": "Rebuild failed: disk image is corrupt"}})
	s.evacuate(srvA, "2.53", `{}`).want(http.StatusOK)
	s.advance(50 * time.Millisecond)
	big := s.server(srvBig, "")
	if big["status"] != "ERROR" || big["fault"].(map[string]any)["message"] != noValidHost || big["OS-EXT-SRV-ATTR:host"] != "compute-1" {
		t.Fatalf("big %v", big)
	}
	a := s.server(srvA, "")
	if a["status"] != "ERROR" || a["fault"].(map[string]any)["message"] != "Rebuild failed: disk image is corrupt" {
		t.Fatalf("a %v", a)
	}
	// ERROR servers may be evacuated again, and this time it works.
	s.setFaults(Faults{})
	s.evacuate(srvA, "2.53", `{}`).want(http.StatusOK)
	s.advance(50 * time.Millisecond)
	if a = s.server(srvA, ""); a["status"] != "ACTIVE" || a["fault"] != nil {
		t.Fatalf("second try %v", a)
	}
	// Nothing fits anywhere: forcing compute-2 and -3 down leaves no host.
	s.forceDown("compute-2")
	s.forceDown("compute-3")
	s.evacuate(srvSlow, "2.53", `{}`).want(http.StatusOK)
	s.advance(50 * time.Millisecond)
	if sl := s.server(srvSlow, ""); sl["status"] != "ERROR" {
		t.Fatalf("no host at all %v", sl)
	}
}

func TestEvacuationTimeAndMicroversion295(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, evacuateEstate), Timing: Timing{Evacuate: 500 * time.Millisecond}})
	s.forceDown("compute-1")
	s.evacuate(srvSlow, "2.95", `{}`).want(http.StatusOK)
	s.evacuate(srvA, "2.95", `{}`).want(http.StatusOK)
	s.advance(500 * time.Millisecond)
	// From 2.95 the evacuated server is stopped on its new host.
	if a := s.server(srvA, ""); a["status"] != "SHUTOFF" || a["OS-EXT-SRV-ATTR:host"] == "compute-1" {
		t.Fatalf("2.95 %v", a)
	}
	// The estate's evacuate_time (2s) overrides L for "slow".
	if sl := s.server(srvSlow, ""); sl["status"] != "REBUILD" {
		t.Fatalf("slow after 0.5s %v", sl["status"])
	}
	s.advance(1500 * time.Millisecond)
	if sl := s.server(srvSlow, ""); sl["status"] != "SHUTOFF" {
		t.Fatalf("slow after 2s %v", sl["status"])
	}
}

// Work cast to a dead nova-compute waits for it; deleting a server whose
// compute service is down happens at once (Nova's local delete).
func TestDeadHostHoldsWork(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, evacuateEstate)})
	s.setFaults(Faults{HostStates: map[string]string{"compute-1": "down"}})
	s.do(req{method: "POST", path: "/compute/v2.1/servers/" + srvA + "/action", body: `{"os-stop": null}`}).want(http.StatusAccepted)
	s.advance(time.Second)
	if a := s.server(srvA, ""); a["OS-EXT-STS:task_state"] != "powering-off" {
		t.Fatalf("stop on a dead host %v", a)
	}
	s.do(req{method: "DELETE", path: "/compute/v2.1/servers/" + srvB}).want(http.StatusNoContent)
	s.do(req{path: "/compute/v2.1/servers/" + srvB}).wantFault(http.StatusNotFound, "itemNotFound", "")
	s.do(req{method: "POST", path: "/compute/v2.1/servers/" + srvSlow + "/os-interface", body: `{"interfaceAttachment": {}}`}).
		wantFault(http.StatusInternalServerError, "computeFault", "")
	s.setFaults(Faults{HostStates: map[string]string{"compute-1": "up"}})
	s.advance(10 * time.Millisecond)
	if a := s.server(srvA, ""); a["status"] != "SHUTOFF" {
		t.Fatalf("after the host came back %v", a)
	}
}
