package openstack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeNova is a small stateful Nova behind a fakeCloud, for host_evacuate:
// compute hosts (a nova-compute service and a hypervisor each) and servers
// that evacuations move. Its answers are gophercloud's and Nova's fixture
// bodies (services_list.json, hypervisors_page1.json, Nova's v2.47 server
// sample) with the fields of its state filled in. Like Nova it refuses to
// evacuate from a host whose service is up (400), a server with a task
// (409), and, like the scheduler, onto a disabled or full host: the server
// goes to ERROR with NoValidHost (so a test notices a plan that overfills).
type fakeNova struct {
	t     testing.TB
	fc    *fakeCloud
	delay time.Duration // how long an evacuation takes

	mu       sync.Mutex
	hosts    map[string]*novaHost
	servers  map[string]*novaServer
	fail     map[string]string // server name -> fault of its evacuation
	inflight int
	peak     int // most evacuations running at once
	evacs    []string
	first    time.Time // when the first evacuation was posted
	timers   []*time.Timer

	svcTmpl, hvTmpl, srvTmpl map[string]any
}

type novaHost struct {
	name        string
	svcID       string
	vcpus, mem  int
	status      string // enabled | disabled
	state       string // up | down
	forced      bool
	reason      string
	noHypervStt bool // the hypervisor reports no usage (as from 2.88)
	staleUsedV  *int // the hypervisor reports this many vCPUs used
	localGB     int  // the hypervisor's disk (default the fixture's 1028)
}

type novaServer struct {
	id, name, host   string
	status, vm, task string
	vcpus, ram       int
	fault            string
	metadata         map[string]string
}

func newFakeNova(t testing.TB, delay time.Duration) *fakeNova {
	fc := newFakeCloud(t)
	fn := &fakeNova{t: t, fc: fc, delay: delay, hosts: map[string]*novaHost{}, servers: map[string]*novaServer{}, fail: map[string]string{}}
	fn.svcTmpl = fixtureJSON(t, "compute", "services_list.json")["services"].([]any)[1].(map[string]any)
	fn.hvTmpl = fixtureJSON(t, "compute", "hypervisors_page1.json")["hypervisors"].([]any)[0].(map[string]any)
	fn.srvTmpl = fixtureJSON(t, "nova_samples", "server_get_v247.json")["server"].(map[string]any)
	t.Cleanup(func() {
		fn.mu.Lock()
		defer fn.mu.Unlock()
		for _, tm := range fn.timers {
			tm.Stop()
		}
	})
	fc.on(http.MethodGet, computePath+"/os-services", fn.listServices)
	fc.onPrefix(http.MethodPut, computePath+"/os-services/", fn.updateService)
	fc.on(http.MethodGet, computePath+"/os-hypervisors/detail", fn.listHypervisors)
	fc.on(http.MethodGet, computePath+"/servers/detail", fn.listServers)
	fc.onPrefix(http.MethodGet, computePath+"/servers/", fn.getServer)
	fc.onPrefix(http.MethodPost, computePath+"/servers/", fn.action)
	return fn
}

func (fn *fakeNova) host(name string, vcpus, mem int) *novaHost {
	h := &novaHost{name: name, svcID: fmt.Sprintf("00000000-0000-4000-8000-%012d", len(fn.hosts)+1), vcpus: vcpus, mem: mem, status: "enabled", state: "up"}
	fn.hosts[name] = h
	return h
}

func (fn *fakeNova) server(name, host string, vcpus, ram int) *novaServer {
	s := &novaServer{id: fmt.Sprintf("10000000-0000-4000-8000-%012d", len(fn.servers)+1), name: name, host: host,
		status: "ACTIVE", vm: "active", vcpus: vcpus, ram: ram, metadata: map[string]string{}}
	fn.servers[s.id] = s
	return s
}

func (fn *fakeNova) used(host string) (v, r, n int) {
	for _, s := range fn.servers {
		if s.host == host {
			v, r, n = v+s.vcpus, r+s.ram, n+1
		}
	}
	return
}

func (fn *fakeNova) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func novaFault(status int, kind, msg string) map[string]any {
	return map[string]any{kind: map[string]any{"code": status, "message": msg}}
}

func clone(m map[string]any) map[string]any {
	b, _ := json.Marshal(m)
	var c map[string]any
	_ = json.Unmarshal(b, &c)
	return c
}

func (fn *fakeNova) serviceJSON(h *novaHost) map[string]any {
	m := clone(fn.svcTmpl)
	m["id"], m["host"], m["status"], m["state"], m["forced_down"] = h.svcID, h.name, h.status, h.state, h.forced
	m["disabled_reason"] = nil
	if h.reason != "" {
		m["disabled_reason"] = h.reason
	}
	return m
}

func (fn *fakeNova) sortedHosts() []*novaHost {
	var hs []*novaHost
	for _, h := range fn.hosts {
		hs = append(hs, h)
	}
	sort.Slice(hs, func(i, j int) bool { return hs[i].name < hs[j].name })
	return hs
}

func (fn *fakeNova) listServices(w http.ResponseWriter, r *http.Request) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	host := r.URL.Query().Get("host")
	list := []any{}
	for _, h := range fn.sortedHosts() {
		if host == "" || host == h.name {
			list = append(list, fn.serviceJSON(h))
		}
	}
	fn.write(w, 200, map[string]any{"services": list})
}

func (fn *fakeNova) updateService(w http.ResponseWriter, r *http.Request) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	id := strings.TrimPrefix(r.URL.Path, computePath+"/os-services/")
	var body map[string]any
	_ = json.NewDecoder(r.Body).Decode(&body)
	for _, h := range fn.hosts {
		if h.svcID != id {
			continue
		}
		if v, ok := body["forced_down"].(bool); ok {
			h.forced = v
			if v {
				h.state = "down"
			}
		}
		if v, ok := body["status"].(string); ok {
			h.status = v
		}
		if v, ok := body["disabled_reason"].(string); ok {
			h.reason = v
		}
		fn.write(w, 200, map[string]any{"service": fn.serviceJSON(h)})
		return
	}
	fn.write(w, 404, novaFault(404, "itemNotFound", "Service "+id+" not found."))
}

func (fn *fakeNova) listHypervisors(w http.ResponseWriter, _ *http.Request) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	list := []any{}
	for i, h := range fn.sortedHosts() {
		m := clone(fn.hvTmpl)
		v, r, n := fn.used(h.name)
		m["id"] = fmt.Sprintf("20000000-0000-4000-8000-%012d", i+1)
		m["hypervisor_hostname"] = h.name + ".example.org"
		m["service"] = map[string]any{"host": h.name, "id": h.svcID, "disabled_reason": nil}
		m["vcpus"], m["vcpus_used"], m["memory_mb"], m["memory_mb_used"], m["running_vms"] = h.vcpus, v, h.mem, r, n
		m["free_ram_mb"], m["state"], m["status"] = h.mem-r, h.state, h.status
		if h.staleUsedV != nil {
			m["vcpus_used"] = *h.staleUsedV
		}
		// Every server's flavor has the sample's 1 GB disk.
		m["local_gb_used"] = n
		if h.localGB > 0 {
			m["local_gb"] = h.localGB
		}
		if h.noHypervStt {
			for _, k := range []string{"vcpus", "vcpus_used", "memory_mb", "memory_mb_used", "running_vms", "free_ram_mb", "local_gb", "local_gb_used", "free_disk_gb", "current_workload", "disk_available_least", "cpu_info"} {
				delete(m, k)
			}
		}
		list = append(list, m)
	}
	fn.write(w, 200, map[string]any{"hypervisors": list})
}

func (fn *fakeNova) serverJSON(s *novaServer) map[string]any {
	// A shallow copy: only the flavor, a nested map, is changed.
	m := make(map[string]any, len(fn.srvTmpl))
	for k, v := range fn.srvTmpl {
		m[k] = v
	}
	m["flavor"] = clone(fn.srvTmpl["flavor"].(map[string]any))
	m["id"], m["name"], m["OS-EXT-SRV-ATTR:host"], m["status"], m["OS-EXT-STS:vm_state"] = s.id, s.name, s.host, s.status, s.vm
	m["OS-EXT-SRV-ATTR:hypervisor_hostname"] = s.host + ".example.org"
	m["OS-EXT-STS:task_state"] = nil
	if s.task != "" {
		m["OS-EXT-STS:task_state"] = s.task
	}
	fl := m["flavor"].(map[string]any)
	fl["vcpus"], fl["ram"] = s.vcpus, s.ram
	m["metadata"] = s.metadata
	if s.fault != "" {
		m["fault"] = map[string]any{"code": 500, "message": s.fault, "created": "2026-01-01T00:00:00Z"}
	}
	return m
}

func (fn *fakeNova) listServers(w http.ResponseWriter, r *http.Request) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	q := r.URL.Query()
	if q.Get("host") != "" && q.Get("all_tenants") != "true" {
		fn.t.Errorf("listing servers by host without all_tenants: %s", r.URL.RawQuery)
	}
	var ids []string
	for id, s := range fn.servers {
		if (q.Get("host") == "" || q.Get("host") == s.host) && (q.Get("name") == "" || strings.Contains(s.name, q.Get("name"))) {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	list := []any{}
	for _, id := range ids {
		list = append(list, fn.serverJSON(fn.servers[id]))
	}
	fn.write(w, 200, map[string]any{"servers": list})
}

func (fn *fakeNova) getServer(w http.ResponseWriter, r *http.Request) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	id := strings.TrimPrefix(r.URL.Path, computePath+"/servers/")
	s := fn.servers[id]
	if s == nil {
		fn.write(w, 404, novaFault(404, "itemNotFound", "Instance "+id+" could not be found."))
		return
	}
	fn.write(w, 200, map[string]any{"server": fn.serverJSON(s)})
}

func (fn *fakeNova) action(w http.ResponseWriter, r *http.Request) {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	id := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, computePath+"/servers/"), "/action")
	s := fn.servers[id]
	var body struct {
		Evacuate *struct {
			Host string `json:"host"`
		} `json:"evacuate"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil || body.Evacuate == nil || s == nil {
		fn.write(w, 400, novaFault(400, "badRequest", "not an evacuation of a known server"))
		return
	}
	src := fn.hosts[s.host]
	switch {
	case src.state == "up" && !src.forced:
		fn.write(w, 400, novaFault(400, "badRequest", "Compute service of "+s.host+" is still in use."))
		return
	case s.task != "":
		fn.write(w, 409, novaFault(409, "conflictingRequest", fmt.Sprintf("Cannot 'evacuate' instance %s while it is in task_state %s", id, s.task)))
		return
	}
	target := fn.hosts[body.Evacuate.Host]
	if target == nil {
		fn.write(w, 404, novaFault(404, "itemNotFound", "Compute host "+body.Evacuate.Host+" could not be found."))
		return
	}
	if len(fn.evacs) == 0 {
		fn.first = time.Now()
	}
	fn.evacs = append(fn.evacs, s.name+"->"+target.name)
	s.status, s.task = "REBUILD", "rebuilding"
	fn.inflight++
	fn.peak = max(fn.peak, fn.inflight)
	v, ram, _ := fn.used(target.name)
	full := v+s.vcpus > target.vcpus || ram+s.ram > target.mem
	fault, fails := fn.fail[s.name]
	fn.timers = append(fn.timers, time.AfterFunc(fn.delay, func() {
		fn.mu.Lock()
		defer fn.mu.Unlock()
		fn.inflight--
		s.task = ""
		switch {
		case target.status == "disabled" || target.state == "down":
			s.status, s.vm, s.fault = "ERROR", "error", "No valid host was found. The target host is disabled or down."
		case full:
			s.status, s.vm, s.fault = "ERROR", "error", "No valid host was found. There are not enough hosts available."
		case fails:
			s.status, s.vm, s.fault = "ERROR", "error", fault
		default:
			s.host, s.status = target.name, "ACTIVE"
			if s.vm == "stopped" {
				s.status = "SHUTOFF"
			}
		}
	}))
	w.WriteHeader(http.StatusOK)
}

// onHost lists the names of the servers on host.
func (fn *fakeNova) onHost(host string) []string {
	fn.mu.Lock()
	defer fn.mu.Unlock()
	var names []string
	for _, s := range fn.servers {
		if s.host == host {
			names = append(names, s.name)
		}
	}
	sort.Strings(names)
	return names
}
