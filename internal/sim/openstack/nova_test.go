package openstack

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMicroversionNegotiation(t *testing.T) {
	s := newSim(t, Options{})
	tests := []struct {
		name    string
		headers map[string]string
		want    string
	}{
		{"none is 2.1", nil, "2.1"},
		{"new header", map[string]string{"OpenStack-API-Version": "compute 2.53"}, "2.53"},
		{"legacy header", map[string]string{"X-OpenStack-Nova-API-Version": "2.60"}, "2.60"},
		{"new header wins", map[string]string{"OpenStack-API-Version": "compute 2.11", "X-OpenStack-Nova-API-Version": "2.60"}, "2.11"},
		{"other services ignored", map[string]string{"OpenStack-API-Version": "volume 3.50, compute 2.29"}, "2.29"},
		{"latest", map[string]string{"OpenStack-API-Version": "compute latest"}, "2.95"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(req{path: "/compute/v2.1/flavors", headers: tt.headers}).want(http.StatusOK)
			if got := r.header.Get("OpenStack-API-Version"); got != "compute "+tt.want {
				t.Fatalf("OpenStack-API-Version %q", got)
			}
			if got := r.header.Get("X-OpenStack-Nova-API-Version"); got != tt.want {
				t.Fatalf("X-OpenStack-Nova-API-Version %q", got)
			}
		})
	}
	s.do(req{path: "/compute/v2.1/flavors", mv: "2.96"}).wantFault(http.StatusNotAcceptable, "computeFault",
		"Version 2.96 is not supported by the API. Minimum is 2.1 and maximum is 2.95.")
	s.do(req{path: "/compute/v2.1/flavors", mv: "2.0"}).wantFault(http.StatusNotAcceptable, "computeFault", "")
	s.do(req{path: "/compute/v2.1/flavors", mv: "two"}).wantFault(http.StatusBadRequest, "badRequest",
		"API Version String two is of invalid format. Must be of format MajorNum.MinorNum.")
	// A lower maximum.
	low := newSim(t, Options{MaxMicroversion: "2.60"})
	low.do(req{path: "/compute/v2.1/flavors", mv: "2.61"}).wantFault(http.StatusNotAcceptable, "computeFault",
		"Version 2.61 is not supported by the API. Minimum is 2.1 and maximum is 2.60.")
	v := low.do(req{path: "/compute/v2.1", noAuth: true}).want(http.StatusOK).json()["version"].(map[string]any)
	if v["version"] != "2.60" || v["min_version"] != "2.1" {
		t.Fatalf("version document %v", v)
	}
}

func TestNovaFaultBodies(t *testing.T) {
	s := newSim(t, Options{})
	s.do(req{path: "/compute/v2.1/servers/nope"}).wantFault(http.StatusNotFound, "itemNotFound", "Instance nope could not be found.")
	s.do(req{path: "/compute/v2.1/flavors/99"}).wantFault(http.StatusNotFound, "itemNotFound", "Flavor 99 could not be found.")
	s.do(req{path: "/compute/v2.1/nowhere"}).wantFault(http.StatusNotFound, "itemNotFound", "The resource could not be found.")
	s.do(req{method: "POST", path: "/compute/v2.1/servers", body: "{not json"}).wantFault(http.StatusBadRequest, "badRequest", "Malformed request body")
	img := s.imageID("cirros")
	for _, tt := range []struct {
		name, mv string
		body     any
		status   int
		fault    string
		msg      string
	}{
		{"no server", "", map[string]any{}, 400, "badRequest", "'server' is a required property"},
		{"no name", "", map[string]any{"server": map[string]any{"flavorRef": "2", "imageRef": img}}, 400, "badRequest",
			"Invalid input for field/attribute server. Value: {'flavorRef': '2', 'imageRef': '" + img + "'}. 'name' is a required property"},
		{"unknown key", "", map[string]any{"server": map[string]any{"name": "x", "flavorRef": "2", "imageRef": img, "colour": "red"}}, 400, "badRequest", ""},
		{"no image", "", map[string]any{"server": map[string]any{"name": "x", "flavorRef": "2"}}, 400, "badRequest", "Missing imageRef attribute"},
		{"unknown image", "", map[string]any{"server": map[string]any{"name": "x", "flavorRef": "2", "imageRef": "3b1f3c1e-0000-4000-8000-000000000000"}}, 400, "badRequest", "Can not find requested image"},
		{"unknown flavor", "", map[string]any{"server": map[string]any{"name": "x", "flavorRef": "42", "imageRef": img}}, 400, "badRequest", "Invalid flavorRef provided."},
		{"networks required from 2.37", "2.37", map[string]any{"server": map[string]any{"name": "x", "flavorRef": "2", "imageRef": img}}, 400, "badRequest", ""},
		{"unknown zone", "", map[string]any{"server": map[string]any{"name": "x", "flavorRef": "2", "imageRef": img, "availability_zone": "mars"}}, 400, "badRequest", "The requested availability zone is not available"},
		{"unknown port", "", map[string]any{"server": map[string]any{"name": "x", "flavorRef": "2", "imageRef": img, "networks": []any{map[string]any{"port": "0b6b1d2c-0000-4000-8000-000000000000"}}}}, 400, "badRequest",
			"Port id 0b6b1d2c-0000-4000-8000-000000000000 could not be found."},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(req{method: "POST", path: "/compute/v2.1/servers", mv: tt.mv, body: tt.body})
			r.t = t
			r.wantFault(tt.status, tt.fault, tt.msg)
		})
	}
}

// imageID and networkID resolve names.
func (s *sim) imageID(name string) string {
	s.t.Helper()
	for _, im := range s.do(req{path: "/image/v2/images?name=" + name}).want(http.StatusOK).json()["images"].([]any) {
		return im.(map[string]any)["id"].(string)
	}
	s.t.Fatalf("no image %s", name)
	return ""
}

func (s *sim) networkID(name string) string {
	s.t.Helper()
	for _, n := range s.do(req{path: "/network/v2.0/networks?name=" + name}).want(http.StatusOK).json()["networks"].([]any) {
		return n.(map[string]any)["id"].(string)
	}
	s.t.Fatalf("no network %s", name)
	return ""
}

func (s *sim) create(name, flavor, az string, extra map[string]any) string {
	s.t.Helper()
	body := map[string]any{"name": name, "flavorRef": flavor, "imageRef": s.imageID("cirros"),
		"networks": []any{map[string]any{"uuid": s.networkID("private")}}}
	if az != "" {
		body["availability_zone"] = az
	}
	for k, v := range extra {
		body[k] = v
	}
	r := s.do(req{method: "POST", path: "/compute/v2.1/servers", body: map[string]any{"server": body}}).want(http.StatusAccepted)
	srv := r.json()["server"].(map[string]any)
	if r.header.Get("Location") == "" || srv["adminPass"] == "" || srv["OS-DCF:diskConfig"] != "MANUAL" {
		s.t.Fatalf("create answer %v %s", r.header, r.raw)
	}
	return srv["id"].(string)
}

func TestServerLifecycle(t *testing.T) {
	s := newSim(t, Options{})
	id := s.create("web", "2", "", map[string]any{"metadata": map[string]any{"tier": "web"}, "key_name": "ops"})
	srv := s.server(id, "")
	if srv["status"] != "BUILD" || srv["OS-EXT-STS:task_state"] != "spawning" || srv["OS-EXT-STS:vm_state"] != "building" {
		t.Fatalf("just created %v", srv)
	}
	s.advance(30 * time.Millisecond)
	srv = s.server(id, "")
	if srv["status"] != "ACTIVE" || srv["OS-EXT-STS:power_state"].(float64) != 1 || srv["key_name"] != "ops" ||
		srv["OS-SRV-USG:launched_at"] != "2024-03-13T03:00:00.030000" || srv["progress"].(float64) != 0 {
		t.Fatalf("active %v", srv)
	}
	addrs := srv["addresses"].(map[string]any)["private"].([]any)
	if a := addrs[0].(map[string]any); a["addr"] != "10.0.0.2" || a["OS-EXT-IPS:type"] != "fixed" || !strings.HasPrefix(a["OS-EXT-IPS-MAC:mac_addr"].(string), "fa:16:3e:") {
		t.Fatalf("addresses %v", addrs)
	}
	// Actions and their conflicts.
	action := func(body string) *res {
		return s.do(req{method: "POST", path: "/compute/v2.1/servers/" + id + "/action", body: body})
	}
	action(`{"os-start": null}`).wantFault(http.StatusConflict, "conflictingRequest", "Cannot 'start' instance "+id+" while it is in vm_state active")
	action(`{"os-stop": null}`).want(http.StatusAccepted)
	if srv = s.server(id, ""); srv["OS-EXT-STS:task_state"] != "powering-off" || srv["status"] != "ACTIVE" {
		t.Fatalf("stopping %v", srv)
	}
	action(`{"os-stop": null}`).wantFault(http.StatusConflict, "conflictingRequest", "Cannot 'stop' instance "+id+" while it is in task_state powering-off")
	s.advance(10 * time.Millisecond)
	if srv = s.server(id, ""); srv["status"] != "SHUTOFF" || srv["OS-EXT-STS:power_state"].(float64) != 4 {
		t.Fatalf("stopped %v", srv)
	}
	action(`{"reboot": {"type": "SOFT"}}`).wantFault(http.StatusConflict, "conflictingRequest", "")
	action(`{"reboot": {"type": "HARD"}}`).want(http.StatusAccepted)
	if srv = s.server(id, ""); srv["status"] != "SHUTOFF" || srv["OS-EXT-STS:task_state"] != "rebooting_hard" {
		t.Fatalf("hard rebooting a stopped server %v", srv)
	}
	s.advance(20 * time.Millisecond)
	action(`{"rebuild": {"imageRef": "` + s.imageID("cirros") + `", "name": "web2"}}`).want(http.StatusAccepted)
	if srv = s.server(id, ""); srv["status"] != "REBUILD" || srv["name"] != "web2" {
		t.Fatalf("rebuilding %v", srv)
	}
	s.advance(30 * time.Millisecond)
	action(`{"os-stop": null, "os-start": null}`).wantFault(http.StatusBadRequest, "badRequest", "Malformed request body")
	action(`{"shelve": null}`).wantFault(http.StatusBadRequest, "badRequest", "There is no such action: shelve")
	// Delete: 204, deleting, then gone; the port Nova made goes too.
	s.do(req{method: "DELETE", path: "/compute/v2.1/servers/" + id}).want(http.StatusNoContent)
	if srv = s.server(id, ""); srv["OS-EXT-STS:task_state"] != "deleting" {
		t.Fatalf("deleting %v", srv)
	}
	s.advance(20 * time.Millisecond)
	s.do(req{path: "/compute/v2.1/servers/" + id}).wantFault(http.StatusNotFound, "itemNotFound", "Instance "+id+" could not be found.")
	if ports := s.do(req{path: "/network/v2.0/ports?device_id=" + id}).want(http.StatusOK).json()["ports"].([]any); len(ports) != 0 {
		t.Fatalf("ports left %v", ports)
	}
	actions := s.do(req{path: "/compute/v2.1/servers"}).want(http.StatusOK).json()["servers"].([]any)
	if len(actions) != 0 {
		t.Fatalf("servers left %v", actions)
	}
}

// capacityEstate: three small hosts; compute-3 has the least RAM.
const capacityEstate = `{
  "hosts": [
    {"name": "compute-1", "vcpus": 4, "memory_mb": 8704, "cpu_allocation_ratio": 1},
    {"name": "compute-2", "vcpus": 4, "memory_mb": 8704, "cpu_allocation_ratio": 1},
    {"name": "compute-3", "vcpus": 4, "memory_mb": 4608, "cpu_allocation_ratio": 1}
  ]
}`

func TestSchedulingAndCapacity(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, capacityEstate)})
	host := func(id string) string {
		s.advance(30 * time.Millisecond)
		h, _ := s.server(id, "")["OS-EXT-SRV-ATTR:host"].(string)
		return h
	}
	// The RAM weigher: most free RAM first, ties in estate order.
	a := s.create("a", "4", "", nil) // 8 GiB: compute-1 full
	if h := host(a); h != "compute-1" {
		t.Fatalf("a on %s", h)
	}
	b := s.create("b", "3", "", nil) // 4 GiB
	if h := host(b); h != "compute-2" {
		t.Fatalf("b on %s", h)
	}
	c := s.create("c", "3", "", nil) // compute-2 and compute-3 have 4 GiB free each
	if h := host(c); h != "compute-2" {
		t.Fatalf("c on %s", h)
	}
	d := s.create("d", "3", "", nil)
	if h := host(d); h != "compute-3" {
		t.Fatalf("d on %s", h)
	}
	// Nothing fits now: NoValidHost, ERROR with a fault and no host.
	e := s.create("e", "2", "", nil)
	s.advance(30 * time.Millisecond)
	srv := s.server(e, "")
	f, _ := srv["fault"].(map[string]any)
	if srv["status"] != "ERROR" || srv["OS-EXT-SRV-ATTR:host"] != nil || f["message"] != noValidHost || f["code"].(float64) != 500 {
		t.Fatalf("no room: %v", srv)
	}
	if ports := s.do(req{path: "/network/v2.0/ports?device_id=" + e}).want(http.StatusOK).json()["ports"].([]any); len(ports) != 0 {
		t.Fatalf("a failed build kept its port: %v", ports)
	}
	// Deleting frees room; a pin wins over the weigher.
	s.do(req{method: "DELETE", path: "/compute/v2.1/servers/" + d}).want(http.StatusNoContent)
	s.advance(20 * time.Millisecond)
	pinned := s.create("pinned", "2", "nova:compute-3", nil)
	if h := host(pinned); h != "compute-3" {
		t.Fatalf("pinned on %s", h)
	}
	// Pinning is for admins.
	s.do(req{method: "POST", path: "/compute/v2.1/servers", token: s.memberToken(), body: map[string]any{"server": map[string]any{
		"name": "x", "flavorRef": "2", "imageRef": s.imageID("cirros"), "availability_zone": "nova:compute-1"}}}).
		wantFault(http.StatusForbidden, "forbidden", "Policy doesn't allow os_compute_api:servers:create:forced_host to be performed.")
	// Disabled hosts are skipped by the scheduler.
	svc := s.computeService("compute-3", "2.53")
	s.do(req{method: "PUT", path: "/compute/v2.1/os-services/" + svc, mv: "2.53", body: `{"status": "disabled", "disabled_reason": "maintenance"}`}).want(http.StatusOK)
	s.do(req{method: "DELETE", path: "/compute/v2.1/servers/" + pinned}).want(http.StatusNoContent)
	s.advance(20 * time.Millisecond)
	g := s.create("g", "2", "", nil)
	s.advance(30 * time.Millisecond)
	if s.server(g, "")["status"] != "ERROR" {
		t.Fatal("a disabled host took a server")
	}
	// Hypervisor usage below 2.88 counts the reserved 512 MiB.
	h := s.hypervisor("compute-1", "2.87")
	if h["memory_mb_used"].(float64) != 512+8192 || h["running_vms"].(float64) != 1 || h["free_ram_mb"].(float64) != 0 {
		t.Fatalf("compute-1 %v", h)
	}
}

// memberToken logs in a non-admin member of project admin (added on demand
// to the default estate through a second project-less login is not
// possible, so tests that need one use an estate with user "member").
func (s *sim) memberToken() string {
	s.t.Helper()
	r := s.login("member", "member", "admin")
	if r.code != http.StatusCreated {
		// The estate has no member user: make one.
		s.srv.mu.Lock()
		st := s.srv.st
		u := &user{id: st.hexID(), name: "member", password: "member", domainID: "default", roles: map[string]string{st.projects[0].id: "member"}, enabled: true}
		st.users = append(st.users, u)
		s.srv.mu.Unlock()
		r = s.login("member", "member", "admin").want(http.StatusCreated)
	}
	return r.header.Get("X-Subject-Token")
}

func (s *sim) computeService(host, mv string) string {
	s.t.Helper()
	for _, sv := range s.do(req{path: "/compute/v2.1/os-services?binary=nova-compute&host=" + host, mv: mv}).want(http.StatusOK).json()["services"].([]any) {
		return sv.(map[string]any)["id"].(string)
	}
	s.t.Fatalf("no service on %s", host)
	return ""
}

func (s *sim) hypervisor(host, mv string) map[string]any {
	s.t.Helper()
	for _, h := range s.do(req{path: "/compute/v2.1/os-hypervisors/detail", mv: mv}).want(http.StatusOK).json()["hypervisors"].([]any) {
		hm := h.(map[string]any)
		if hm["hypervisor_hostname"] == host {
			return hm
		}
	}
	s.t.Fatalf("no hypervisor %s", host)
	return nil
}

func TestHypervisorFieldsByMicroversion(t *testing.T) {
	s := newSim(t, Options{})
	old := s.hypervisor("compute-1", "2.1")
	if _, ok := old["cpu_info"].(string); !ok || old["id"].(float64) != 1 || old["vcpus"].(float64) != 32 || old["memory_mb"].(float64) != 131072 {
		t.Fatalf("2.1 %v", old)
	}
	mid := s.hypervisor("compute-1", "2.87")
	if _, ok := mid["cpu_info"].(map[string]any); !ok {
		t.Fatalf("2.87 cpu_info %v", mid["cpu_info"])
	}
	if _, ok := mid["id"].(string); !ok {
		t.Fatalf("2.87 id %v", mid["id"])
	}
	for _, k := range []string{"vcpus", "vcpus_used", "memory_mb", "memory_mb_used", "running_vms", "free_ram_mb", "local_gb", "cpu_info"} {
		if _, ok := mid[k]; !ok {
			t.Fatalf("2.87 lacks %s", k)
		}
	}
	now := s.hypervisor("compute-1", "2.88")
	for _, k := range []string{"vcpus", "vcpus_used", "memory_mb", "memory_mb_used", "running_vms", "free_ram_mb", "local_gb", "cpu_info", "current_workload", "disk_available_least"} {
		if _, ok := now[k]; ok {
			t.Fatalf("2.88 still has %s", k)
		}
	}
	if _, ok := now["uptime"].(string); !ok || now["hypervisor_version"] == nil || now["service"] == nil {
		t.Fatalf("2.88 %v", now)
	}
	s.do(req{path: "/compute/v2.1/os-hypervisors/statistics", mv: "2.87"}).want(http.StatusOK)
	s.do(req{path: "/compute/v2.1/os-hypervisors/statistics", mv: "2.88"}).wantFault(http.StatusNotFound, "itemNotFound", "")
	s.do(req{path: "/compute/v2.1/os-hypervisors/nope", mv: "2.53"}).wantFault(http.StatusBadRequest, "badRequest", "Invalid uuid nope")
	s.do(req{path: "/compute/v2.1/os-hypervisors/9", mv: "2.1"}).wantFault(http.StatusNotFound, "itemNotFound", "Hypervisor with ID '9' could not be found.")
	list := s.do(req{path: "/compute/v2.1/os-hypervisors?hypervisor_hostname_pattern=compute-2&with_servers=true", mv: "2.75"}).want(http.StatusOK).json()["hypervisors"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["servers"] == nil {
		t.Fatalf("pattern search %v", list)
	}
	s.do(req{path: "/compute/v2.1/os-hypervisors?hypervisor_hostname_pattern=zzz", mv: "2.53"}).wantFault(http.StatusNotFound, "itemNotFound", "No hypervisor matching 'zzz' could be found.")
}

func TestServicesUpdate(t *testing.T) {
	s := newSim(t, Options{})
	list := s.do(req{path: "/compute/v2.1/os-services", mv: "2.10"}).want(http.StatusOK).json()["services"].([]any)
	first := list[0].(map[string]any)
	if _, ok := first["forced_down"]; ok {
		t.Fatal("forced_down below 2.11")
	}
	if _, ok := first["id"].(float64); !ok {
		t.Fatalf("integer ids below 2.53: %v", first["id"])
	}
	id := s.computeService("compute-1", "2.53")
	put := func(mv, path, body string) *res {
		return s.do(req{method: "PUT", path: "/compute/v2.1/os-services/" + path, mv: mv, body: body})
	}
	put("2.53", "nope", `{"status": "disabled"}`).wantFault(http.StatusBadRequest, "badRequest", "Invalid uuid nope")
	put("2.53", "0b6b1d2c-0000-4000-8000-000000000000", `{"status": "disabled"}`).wantFault(http.StatusNotFound, "itemNotFound", "Service 0b6b1d2c-0000-4000-8000-000000000000 could not be found.")
	put("2.53", id, `{}`).wantFault(http.StatusBadRequest, "badRequest", "No updates were requested. Fields 'status' or 'forced_down' should be specified.")
	put("2.53", id, `{"status": "enabled", "disabled_reason": "x"}`).wantFault(http.StatusBadRequest, "badRequest", "Specifying 'disabled_reason' with status 'enabled' is invalid.")
	put("2.53", id, `{"state": "down"}`).wantFault(http.StatusBadRequest, "badRequest", "Additional properties are not allowed ('state' was unexpected)")
	sched := ""
	for _, sv := range s.do(req{path: "/compute/v2.1/os-services?binary=nova-scheduler", mv: "2.53"}).want(http.StatusOK).json()["services"].([]any) {
		sched = sv.(map[string]any)["id"].(string)
	}
	put("2.53", sched, `{"status": "disabled"}`).wantFault(http.StatusBadRequest, "badRequest", "Updating a nova-scheduler service is not supported. Only nova-compute services can be updated.")
	got := put("2.53", id, `{"forced_down": true}`).want(http.StatusOK).json()["service"].(map[string]any)
	if got["state"] != "down" || got["forced_down"] != true || got["status"] != "enabled" || got["id"] != id {
		t.Fatalf("forced down %v", got)
	}
	// The older action paths.
	put("2.11", "force-down", `{"host": "compute-2", "binary": "nova-compute", "forced_down": true}`).want(http.StatusOK)
	r := put("2.11", "disable-log-reason", `{"host": "compute-2", "binary": "nova-compute", "disabled_reason": "dead"}`).want(http.StatusOK).json()
	if sv := r["service"].(map[string]any); sv["status"] != "disabled" || sv["disabled_reason"] != "dead" {
		t.Fatalf("disable-log-reason %v", r)
	}
	put("2.11", "enable", `{"host": "nowhere", "binary": "nova-compute"}`).wantFault(http.StatusNotFound, "itemNotFound", "Could not find binary nova-compute on host nowhere.")
	put("2.10", "force-down", `{"host": "compute-2", "binary": "nova-compute"}`).wantFault(http.StatusNotFound, "itemNotFound", "Unknown action")
	put("2.52", id, `{"status": "disabled"}`).wantFault(http.StatusBadRequest, "badRequest", "")
	put("2.53", "disable", `{"host": "compute-2", "binary": "nova-compute"}`).wantFault(http.StatusBadRequest, "badRequest", "Invalid uuid disable")
}

func TestFlavorsAndImages(t *testing.T) {
	s := newSim(t, Options{})
	list := s.do(req{path: "/compute/v2.1/flavors/detail"}).want(http.StatusOK).json()["flavors"].([]any)
	names := []string{}
	for _, f := range list {
		names = append(names, f.(map[string]any)["name"].(string))
	}
	if strings.Join(names, ",") != "m1.small,m1.medium,m1.large,m1.xlarge" {
		t.Fatalf("flavors %v", names)
	}
	small := list[0].(map[string]any)
	if small["vcpus"].(float64) != 1 || small["ram"].(float64) != 2048 || small["swap"] != "" {
		t.Fatalf("m1.small %v", small)
	}
	if f := s.do(req{path: "/compute/v2.1/flavors/2", mv: "2.75"}).want(http.StatusOK).json()["flavor"].(map[string]any); f["swap"].(float64) != 0 {
		t.Fatalf("swap from 2.75: %v", f["swap"])
	}
	page := s.do(req{path: "/compute/v2.1/flavors?limit=2"}).want(http.StatusOK).json()
	if len(page["flavors"].([]any)) != 2 || page["flavors_links"] == nil {
		t.Fatalf("paging %v", page)
	}
	s.do(req{path: "/compute/v2.1/images"}).want(http.StatusOK)
	s.do(req{path: "/compute/v2.1/images", mv: "2.36"}).wantFault(http.StatusNotFound, "itemNotFound", "")
}
