package openstack

// End-to-end tests: the provider against internal/sim/openstack, the
// simulator `runbook sim openstack` serves (docs/simulators.md), through
// real HTTP: Keystone auth and catalog, microversion discovery, every
// action, each recovery method of host_evacuate, and its fault injection.

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	simos "github.com/runbook-dev/runbook/internal/sim/openstack"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

// simCloud is a running simulator and the provider configured against it.
type simCloud struct {
	t   testing.TB
	srv *simos.Server
	url string
	p   *sdk.Provider
}

func startSim(t testing.TB, estate string, timing simos.Timing, extra map[string]cty.Value) *simCloud {
	t.Helper()
	var est *simos.Estate
	if estate != "" {
		var err error
		if est, err = simos.ParseEstate([]byte(estate)); err != nil {
			t.Fatalf("estate: %v", err)
		}
	}
	srv := simos.New(simos.Options{Estate: est, Timing: timing})
	url, err := srv.Start("")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	p := newProvider(func(string) string { return "" })
	cfg := map[string]cty.Value{
		"auth_url": str(url + "/v3"), "username": str("admin"), "password": str("admin"),
		"project_name": str("admin"), "user_domain_name": str("Default"), "project_domain_name": str("Default"),
		"poll_interval": str("5ms"),
	}
	for k, v := range extra {
		cfg[k] = v
	}
	if err := p.Configure(t.Context(), cty.ObjectVal(cfg)); err != nil {
		t.Fatal(err)
	}
	return &simCloud{t: t, srv: srv, url: url, p: p}
}

func (s *simCloud) do(action string, in map[string]cty.Value) cty.Value {
	s.t.Helper()
	return mustApply(s.t, s.p, action, in).out
}

func (s *simCloud) check(action string, in map[string]cty.Value, started time.Time) sdk.CheckResult {
	s.t.Helper()
	resp, err := s.p.Check(s.t.Context(), &provider.CheckRequest{Request: provider.Request{Action: action, Inputs: cty.ObjectVal(in)}, Started: started})
	if err != nil {
		s.t.Fatalf("Check %s: %v", action, err)
	}
	return resp.Result
}

func TestSimServerActions(t *testing.T) {
	s := startSim(t, "", simos.Timing{}, nil)
	started := time.Now()
	created := decode[ServerOut](t, s.do("server_create", map[string]cty.Value{
		"name": str("app-1"), "image": str("cirros"), "flavor": str("m1.small"),
		"networks": cty.ListVal([]cty.Value{str("private")}), "metadata": cty.MapVal(map[string]cty.Value{"role": str("app")}),
	}))
	if created.Status != "ACTIVE" || created.Host == "" || created.VCPUs != 1 || created.RAM != 2048 || len(created.FixedIPs) != 1 || created.AccessIPv4 != created.FixedIPs[0] || created.Metadata["role"] != "app" {
		t.Errorf("created: %+v", created)
	}
	if r := s.check("server_create", map[string]cty.Value{"name": str("app-1"), "image": str("cirros"), "flavor": str("m1.small")}, started); r != sdk.Applied {
		t.Errorf("Check server_create: %v", r)
	}
	in := map[string]cty.Value{"server": str("app-1")}
	got := decode[ServerOut](t, s.do("server_get", in))
	if got.ID != created.ID {
		t.Errorf("server_get by name: %s", got.ID)
	}
	list := decode[ServerListOut](t, s.do("server_list", map[string]cty.Value{"host": str(created.Host), "all_tenants": cty.True}))
	if list.Count != 1 || list.IDs[0] != created.ID {
		t.Errorf("server_list on %s: %+v", created.Host, list.IDs)
	}
	if out := decode[ServerOut](t, s.do("server_stop", in)); out.Status != "SHUTOFF" {
		t.Errorf("stop: %s", out.Status)
	}
	if r := s.check("server_stop", in, started); r != sdk.Applied {
		t.Errorf("Check server_stop: %v", r)
	}
	if out := decode[ServerOut](t, s.do("server_start", in)); out.Status != "ACTIVE" {
		t.Errorf("start: %s", out.Status)
	}
	if out := decode[ServerOut](t, s.do("server_reboot", map[string]cty.Value{"server": str("app-1"), "type": str("HARD")})); out.Status != "ACTIVE" {
		t.Errorf("reboot: %s", out.Status)
	}
	if r := s.check("server_reboot", in, started); r != sdk.Applied {
		t.Errorf("Check server_reboot: %v", r)
	}
	if out := decode[ServerOut](t, s.do("server_rebuild", map[string]cty.Value{"server": str("app-1"), "name": str("app-1b")})); out.Status != "ACTIVE" || out.Name != "app-1b" {
		t.Errorf("rebuild: %+v", out)
	}
	if out := decode[ServerOut](t, s.do("server_wait", map[string]cty.Value{"server": str(created.ID)})); out.Status != "ACTIVE" {
		t.Errorf("wait: %s", out.Status)
	}
	if out := decode[ServerDeleteOut](t, s.do("server_delete", map[string]cty.Value{"server": str("app-1b")})); out.Status != "DELETED" || !out.Existed {
		t.Errorf("delete: %+v", out)
	}
	if out := decode[ServerDeleteOut](t, s.do("server_delete", map[string]cty.Value{"server": str("app-1b")})); out.Existed {
		t.Errorf("delete again: %+v", out)
	}
}

// TestSimManagerRecovery is seed 000's recovery: detach the floating IP
// and the pre-made port, terminate the server, start a new one on the
// port (same fixed IP), give the floating IP back.
func TestSimManagerRecovery(t *testing.T) {
	s := startSim(t, `{
	  "ports": [{"name": "manager-port", "network": "private", "fixed_ip": "10.0.0.5"}],
	  "servers": [{"name": "manager", "host": "compute-2", "ports": ["manager-port"]}],
	  "floating_ips": [{"floating_ip_address": "172.24.4.10", "port": "manager-port"}]
	}`, simos.Timing{}, nil)
	fip := decode[FloatingIPOut](t, s.do("floating_ip_disassociate", map[string]cty.Value{"floating_ip": str("172.24.4.10")}))
	if fip.PortID != "" || fip.PreviousFixedIP != "10.0.0.5" {
		t.Fatalf("disassociated: %+v", fip)
	}
	port := decode[PortOut](t, s.do("port_detach", map[string]cty.Value{"server": str("manager"), "port": str("manager-port")}))
	if port.DeviceID != "" || strings.Join(port.FixedIPs, ",") != "10.0.0.5" || port.ID != fip.PreviousPortID {
		t.Fatalf("detached: %+v", port)
	}
	s.do("server_delete", map[string]cty.Value{"server": str("manager")})
	created := decode[ServerOut](t, s.do("server_create", map[string]cty.Value{
		"name": str("manager"), "image": str("cirros"), "flavor": str("m1.medium"), "port": str("manager-port"),
	}))
	if strings.Join(created.FixedIPs, ",") != "10.0.0.5" {
		t.Errorf("the new manager has %v, want the port's 10.0.0.5", created.FixedIPs)
	}
	fip = decode[FloatingIPOut](t, s.do("floating_ip_associate", map[string]cty.Value{"floating_ip": str("172.24.4.10"), "port": str("manager-port")}))
	if fip.PortID != port.ID || fip.FixedIP != "10.0.0.5" {
		t.Errorf("associated: %+v", fip)
	}
	// Idempotent: associating again changes nothing; attaching an attached port neither.
	s.do("floating_ip_associate", map[string]cty.Value{"floating_ip": str("172.24.4.10"), "port": str("manager-port")})
	s.do("port_attach", map[string]cty.Value{"server": str("manager"), "port": str("manager-port")})

	// Move the port to another server with detach and attach.
	other := decode[ServerOut](t, s.do("server_create", map[string]cty.Value{"name": str("standby"), "image": str("cirros"), "flavor": str("m1.small"), "networks": cty.ListVal([]cty.Value{str("private")})}))
	s.do("port_detach", map[string]cty.Value{"server": str("manager"), "port": str("manager-port")})
	port = decode[PortOut](t, s.do("port_attach", map[string]cty.Value{"server": str("standby"), "port": str("manager-port")}))
	if port.DeviceID != other.ID {
		t.Errorf("attached to %s, want %s", port.DeviceID, other.ID)
	}
	standby := decode[ServerOut](t, s.do("server_get", map[string]cty.Value{"server": str("standby")}))
	if !contains(standby.FixedIPs, "10.0.0.5") {
		t.Errorf("standby's addresses %v lack the port's 10.0.0.5", standby.FixedIPs)
	}
	if r := s.check("port_attach", map[string]cty.Value{"server": str("standby"), "port": str("manager-port")}, time.Now()); r != sdk.Applied {
		t.Errorf("Check port_attach: %v", r)
	}
}

func TestSimServicesAndHypervisors(t *testing.T) {
	s := startSim(t, "", simos.Timing{}, nil)
	list := decode[ServiceListOut](t, s.do("compute_service_list", map[string]cty.Value{"binary": str("nova-compute")}))
	if list.Count != 3 {
		t.Errorf("nova-compute services: %+v", list)
	}
	out := decode[ServiceOut](t, s.do("compute_service_disable", map[string]cty.Value{"host": str("compute-3"), "reason": str("drill")}))
	if out.Status != "disabled" || out.DisabledReason != "drill" {
		t.Errorf("disabled: %+v", out)
	}
	out = decode[ServiceOut](t, s.do("compute_service_force_down", map[string]cty.Value{"host": str("compute-3")}))
	if !out.ForcedDown || out.State != "down" {
		t.Errorf("forced down: %+v", out)
	}
	out = decode[ServiceOut](t, s.do("compute_service_enable", map[string]cty.Value{"host": str("compute-3")}))
	if out.ForcedDown || out.Status != "enabled" || out.State != "up" {
		t.Errorf("enabled: %+v", out)
	}
	hv := decode[HypervisorListOut](t, s.do("hypervisor_list", nil))
	if hv.Count != 3 || hv.VCPUs != 96 || hv.MemoryMB != 3*131072 || hv.MemoryMBUsed != 3*512 || hv.Hypervisors[0].Host != "compute-1" {
		t.Errorf("hypervisors: %+v", hv)
	}
}

const evacuationEstate = `{
  "hosts": [
    {"name": "compute-1", "vcpus": 16, "memory_mb": 65536},
    {"name": "compute-2", "vcpus": 16, "memory_mb": 65536},
    {"name": "compute-3", "vcpus": 16, "memory_mb": 65536},
    {"name": "compute-4", "vcpus": 8, "memory_mb": 65536, "status": "disabled", "disabled_reason": "reserved for instance HA"}
  ],
  "servers": [
    {"name": "busy-2", "host": "compute-2", "flavor": "m1.xlarge"},
    {"name": "busy-3", "host": "compute-3", "flavor": "m1.medium"},
    {"name": "vm", "count": 6, "host": "compute-1", "flavor": "m1.medium", "networks": ["private"]}
  ]
}`

func TestSimServerEvacuate(t *testing.T) {
	for _, mv := range []string{"2.1", "2.14", "2.29", "2.68", "2.95"} {
		t.Run(mv, func(t *testing.T) {
			s := startSim(t, evacuationEstate, simos.Timing{}, map[string]cty.Value{"compute_microversion": str(mv)})
			// The host fails (below 2.11 nothing can force it down).
			if err := s.srv.SetFaults(simos.Faults{HostStates: map[string]string{"compute-1": "down"}}); err != nil {
				t.Fatal(err)
			}
			in := map[string]cty.Value{"server": str("vm-1"), "host": str("compute-3"), "all_tenants": cty.True, "on_shared_storage": cty.True}
			if mv == "2.29" {
				in["force"] = cty.True
			}
			out := decode[ServerEvacuateOut](t, s.do("server_evacuate", in))
			if out.SourceHost != "compute-1" || out.Host != "compute-3" || out.Status != "ACTIVE" {
				t.Errorf("evacuated at %s: %+v", mv, out)
			}
		})
	}
}

// hostsVal is a segment: name=reserved,priority items.
func hostsVal(spec ...string) cty.Value {
	var hs []cty.Value
	for _, sp := range spec {
		name, rest, _ := strings.Cut(sp, ":")
		var reserved bool
		var priority int
		for _, opt := range strings.Split(rest, ",") {
			switch {
			case opt == "reserved":
				reserved = true
			case strings.HasPrefix(opt, "p"):
				_, _ = fmt.Sscanf(opt, "p%d", &priority)
			}
		}
		hs = append(hs, segHost(name, reserved, priority))
	}
	return cty.TupleVal(hs)
}

func TestSimHostEvacuate(t *testing.T) {
	// Free before: compute-2 8 vCPU (16 - xlarge), compute-3 14, compute-4
	// (reserved, disabled) 8; RAM is plenty except where the case says.
	segment := hostsVal("compute-1", "compute-2:p1", "compute-3:p2", "compute-4:reserved")
	for _, tc := range []struct {
		name    string
		method  string
		estate  string
		faults  *simos.Faults
		hosts   cty.Value
		want    map[string]int // destination -> how many
		failed  int
		status  string
		message string
	}{
		{name: "auto", method: "auto", want: map[string]int{"compute-3": 6}, status: RecoveryFinished},
		{name: "auto_priority", method: "auto_priority", want: map[string]int{"compute-2": 4, "compute-3": 2}, status: RecoveryFinished},
		{name: "reserved_host", method: "reserved_host", want: map[string]int{"compute-4": 4}, failed: 2, status: RecoveryError,
			message: "not placed: not enough free capacity for 2 vCPU, 4096 MB RAM, 40 GB disk (recovery method reserved_host); free: compute-4 (reserved) 0 vCPU"},
		{name: "rh_priority", method: "rh_priority", want: map[string]int{"compute-4": 4, "compute-3": 2}, status: RecoveryFinished},
		{
			name: "not enough capacity", method: "auto",
			estate: strings.Replace(evacuationEstate, `"name": "vm", "count": 6`, `"name": "vm", "count": 12`, 1),
			want:   map[string]int{"compute-3": 7, "compute-2": 4}, failed: 1, status: RecoveryError,
			message: "not placed: not enough free capacity for 2 vCPU, 4096 MB RAM, 40 GB disk (recovery method auto)",
		},
		{
			name: "disk limits too", method: "auto",
			estate: strings.Replace(evacuationEstate, `{"name": "compute-3", "vcpus": 16, "memory_mb": 65536}`, `{"name": "compute-3", "vcpus": 16, "memory_mb": 65536, "local_gb": 160}`, 1),
			// compute-3: 160 GB, 40 used by busy-3: room for three 40 GB disks.
			want: map[string]int{"compute-3": 3, "compute-2": 3}, status: RecoveryFinished,
		},
		{
			name: "reserved host full", method: "reserved_host",
			estate: strings.Replace(evacuationEstate, `{"name": "busy-3"`, `{"name": "standby-load", "host": "compute-4", "flavor": "m1.xlarge"}, {"name": "busy-3"`, 1),
			failed: 6, status: RecoveryFailed,
			message: "free: compute-4 (reserved) 0 vCPU",
		},
		{
			name: "an evacuation ends in ERROR", method: "auto",
			faults: &simos.Faults{FailEvacuations: map[string]string{"vm-3": "Rebuild failed: the image is not on the destination"}},
			want:   map[string]int{"compute-3": 5}, failed: 1, status: RecoveryError,
			message: "is in ERROR: Rebuild failed: the image is not on the destination",
		},
		{
			name: "5xx and dropped connections on the way", method: "rh_priority",
			faults: &simos.Faults{Seed: 3, Rules: []simos.FaultRule{
				{PathPrefix: "/compute/v2.1/servers/", Method: "GET", ErrorRate: 0.3, ErrorStatus: 503},
				{PathPrefix: "/compute/v2.1/servers/", Method: "GET", DropRate: 0.1},
			}},
			want: map[string]int{"compute-4": 4, "compute-3": 2}, status: RecoveryFinished,
		},
		{
			name: "503 on the evacuation requests: posted again", method: "auto",
			faults: &simos.Faults{Rules: []simos.FaultRule{{PathPrefix: "/compute/v2.1/servers/", Method: "POST", ErrorRate: 1, ErrorStatus: 503, Times: 3}}},
			want:   map[string]int{"compute-3": 6}, status: RecoveryFinished,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			estate := evacuationEstate
			if tc.estate != "" {
				estate = tc.estate
			}
			s := startSim(t, estate, simos.Timing{Evacuate: 20 * time.Millisecond}, nil)
			if tc.faults != nil {
				if err := s.srv.SetFaults(*tc.faults); err != nil {
					t.Fatal(err)
				}
			}
			hosts := segment
			if tc.hosts != cty.NilVal {
				hosts = tc.hosts
			}
			c := apply(t, s.p, "host_evacuate", map[string]cty.Value{
				"failed_host": str("compute-1"), "recovery_method": str(tc.method), "hosts": hosts, "parallelism": cty.NumberIntVal(3),
			})
			if c.err != nil {
				t.Fatal(c.err)
			}
			out := decode[HostEvacuateOut](t, c.out)
			got := map[string]int{}
			failed := 0
			for _, m := range out.VMMoves {
				switch m.Status {
				case MoveSucceeded:
					got[m.DestinationHost]++
				case MoveFailed:
					failed++
					if !strings.Contains(m.Message, tc.message) {
						t.Errorf("%s failed with %q, want %q", m.Name, m.Message, tc.message)
					}
				default:
					t.Errorf("%s ended %s", m.Name, m.Status)
				}
				if strings.Contains(m.Message, "No valid host") {
					t.Errorf("%s: the simulator found the target overbooked: %s", m.Name, m.Message)
				}
			}
			sameMoves := jsonEqual(got, tc.want) || (len(got) == 0 && len(tc.want) == 0)
			if !sameMoves || failed != tc.failed || out.Status != tc.status {
				t.Errorf("moves %v, %d failed, status %s; want %v, %d failed, %s\n%s", got, failed, out.Status, tc.want, tc.failed, tc.status, destinations(out))
			}
			// What the simulator says now: each succeeded instance is
			// ACTIVE where vm_moves says.
			if err := s.srv.SetFaults(simos.Faults{}); err != nil {
				t.Fatal(err)
			}
			for _, m := range out.VMMoves {
				if m.Status != MoveSucceeded {
					continue
				}
				srv := decode[ServerOut](t, s.do("server_get", map[string]cty.Value{"server": str(m.Server)}))
				if srv.Host != m.DestinationHost || srv.Status != "ACTIVE" {
					t.Errorf("%s: simulator says %s on %s, vm_moves says %s", m.Name, srv.Status, srv.Host, m.DestinationHost)
				}
			}
			if got["compute-4"] > 0 {
				svc := decode[ServiceListOut](t, s.do("compute_service_list", map[string]cty.Value{"host": str("compute-4")}))
				if svc.Services[0].Status != "enabled" {
					t.Error("the reserved host given instances is still disabled")
				}
			}
		})
	}
}

// BenchmarkHostEvacuateSim evacuates 1,000 instances from a simulated host
// whose evacuations take L each (the simulator's Timing.Evacuate), and
// reports the elapsed time over ceil(1000/P) x L.
//
//	go test -run '^$' -bench HostEvacuateSim -benchtime 1x ./plugins/openstack/
func BenchmarkHostEvacuateSim(b *testing.B) {
	const n = 1000
	estate := `{
	  "hosts": [
	    {"name": "compute-1", "vcpus": 1024, "memory_mb": 4194304, "local_gb": 40000},
	    {"name": "compute-2", "vcpus": 1024, "memory_mb": 4194304, "local_gb": 40000},
	    {"name": "compute-3", "vcpus": 1024, "memory_mb": 4194304, "local_gb": 40000}
	  ],
	  "servers": [{"name": "vm", "count": 1000, "host": "compute-1", "flavor": "m1.small"}]
	}`
	for _, bc := range []struct {
		p int
		l time.Duration
	}{{10, 200 * time.Millisecond}, {50, 200 * time.Millisecond}, {50, time.Second}} {
		b.Run(fmt.Sprintf("P=%d/L=%s", bc.p, bc.l), func(b *testing.B) {
			var worst float64
			for b.Loop() {
				b.StopTimer()
				s := startSim(b, estate, simos.Timing{Evacuate: bc.l}, map[string]cty.Value{"poll_interval": str((bc.l / 20).String())})
				b.StartTimer()
				start := time.Now()
				c := apply(b, s.p, "host_evacuate", map[string]cty.Value{
					"failed_host": str("compute-1"), "parallelism": cty.NumberIntVal(int64(bc.p)), "spread": cty.True,
				})
				elapsed := time.Since(start)
				if c.err != nil {
					b.Fatal(c.err)
				}
				if out := decode[HostEvacuateOut](b, c.out); out.Succeeded != n {
					for _, m := range out.VMMoves {
						if m.Status != MoveSucceeded {
							b.Fatalf("%d of %d: %s: %s", out.Succeeded, n, m.Name, m.Message)
						}
					}
				}
				worst = max(worst, float64(elapsed)/float64(ideal(n, bc.p, bc.l)))
			}
			b.ReportMetric(worst, "x_ideal")
			b.ReportMetric(float64(ideal(n, bc.p, bc.l).Milliseconds()), "ideal_ms")
		})
	}
}
