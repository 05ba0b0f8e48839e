package openstack

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/providertest"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

// segment is a failover segment for host_evacuate: compute-1 fails with
// six 2-vCPU/4 GiB instances; compute-2 (8 vCPU, 24 GiB free) and
// compute-3 (14 vCPU, 28 GiB free) are ordinary hosts; compute-4 is a
// reserved host whose service is disabled, as Masakari keeps them.
func segment(t testing.TB) *fakeNova {
	fn := newFakeNova(t, 5*time.Millisecond)
	fn.host("compute-1", 16, 32768)
	fn.host("compute-2", 16, 32768)
	fn.host("compute-3", 16, 32768)
	r := fn.host("compute-4", 16, 32768)
	r.status, r.reason = "disabled", "reserved for instance HA"
	fn.server("busy-2", "compute-2", 8, 8192)
	fn.server("busy-3", "compute-3", 2, 4096)
	for i := 1; i <= 6; i++ {
		fn.server(fmt.Sprintf("vm-%d", i), "compute-1", 2, 4096)
	}
	return fn
}

// segHost is one element of the hosts input; priority 0 means none.
func segHost(name string, reserved bool, priority int) cty.Value {
	attrs := map[string]cty.Value{"name": str(name)}
	if reserved {
		attrs["reserved"] = cty.True
	}
	if priority > 0 {
		attrs["priority"] = cty.NumberIntVal(int64(priority))
	}
	return cty.ObjectVal(attrs)
}

func hostsOf(hs ...cty.Value) cty.Value { return cty.TupleVal(hs) }

func evacuate(t testing.TB, fn *fakeNova, in map[string]cty.Value) (HostEvacuateOut, call) {
	t.Helper()
	if _, ok := in["failed_host"]; !ok {
		in["failed_host"] = str("compute-1")
	}
	c := apply(t, fn.fc.provider(nil), "host_evacuate", in)
	if c.err != nil {
		return HostEvacuateOut{}, c
	}
	return decode[HostEvacuateOut](t, c.out), c
}

func destinations(out HostEvacuateOut) string {
	var parts []string
	for _, m := range out.VMMoves {
		d := m.DestinationHost
		if m.Status != MoveSucceeded {
			d = "!" + m.Status
		}
		parts = append(parts, m.Name+"="+d)
	}
	return strings.Join(parts, " ")
}

func TestHostEvacuateAuto(t *testing.T) {
	fn := segment(t)
	out, c := evacuate(t, fn, map[string]cty.Value{
		"recovery_method": str("auto"),
		"hosts":           hostsOf(segHost("compute-1", false, 0), segHost("compute-2", false, 0), segHost("compute-3", false, 0), segHost("compute-4", true, 0)),
		"parallelism":     cty.NumberIntVal(4),
	})
	if c.err != nil {
		t.Fatal(c.err)
	}
	// compute-3 has the most free vCPU and RAM and room for all six.
	if got := destinations(out); got != "vm-1=compute-3 vm-2=compute-3 vm-3=compute-3 vm-4=compute-3 vm-5=compute-3 vm-6=compute-3" {
		t.Errorf("moves: %s", got)
	}
	if out.Status != RecoveryFinished || out.Succeeded != 6 || out.Failed != 0 || out.Total != 6 {
		t.Errorf("outcome: %s %d/%d/%d", out.Status, out.Succeeded, out.Failed, out.Total)
	}
	for _, m := range out.VMMoves {
		if m.SourceHost != "compute-1" || m.Started == "" || m.Ended == "" || m.Message != "" || !strings.HasPrefix(m.Server, "10000000-") {
			t.Errorf("move %+v", m)
		}
	}
	if left := fn.onHost("compute-1"); len(left) != 0 {
		t.Errorf("left on compute-1: %v", left)
	}
	h1 := fn.hosts["compute-1"]
	if !h1.forced || h1.status != "disabled" || h1.reason != "runbook host_evacuate: host failure" {
		t.Errorf("compute-1's service: forced %t, %s (%s)", h1.forced, h1.status, h1.reason)
	}
	if fn.hosts["compute-4"].status != "disabled" {
		t.Error("auto enabled the unused reserved host")
	}
	if fn.peak > 4 {
		t.Errorf("%d evacuations at once with parallelism 4", fn.peak)
	}
	// Targets: what each host had and took.
	// Disk: the hypervisors report 1028 GB (the fixture's local_gb); each
	// server's flavor has a 1 GB disk (Nova's v2.47 sample).
	want := map[string]TargetOut{
		"compute-2": {Name: "compute-2", Usable: true, FreeVCPUs: 8, FreeRAMMB: 24576, FreeVCPUsAfter: 8, FreeRAMMBAfter: 24576, FreeDiskGB: ptr(1027), FreeDiskGBAfter: ptr(1027)},
		"compute-3": {Name: "compute-3", Usable: true, FreeVCPUs: 14, FreeRAMMB: 28672, Assigned: 6, FreeVCPUsAfter: 2, FreeRAMMBAfter: 4096, FreeDiskGB: ptr(1027), FreeDiskGBAfter: ptr(1021)},
		"compute-4": {Name: "compute-4", Reserved: true, Usable: true, FreeVCPUs: 16, FreeRAMMB: 32768, FreeVCPUsAfter: 16, FreeRAMMBAfter: 32768, FreeDiskGB: ptr(1028), FreeDiskGBAfter: ptr(1028)},
	}
	if len(out.Targets) != 3 {
		t.Errorf("targets: %+v", out.Targets)
	}
	for _, tg := range out.Targets {
		if !jsonEqual(tg, want[tg.Name]) {
			t.Errorf("target %s: %+v, want %+v", tg.Name, tg, want[tg.Name])
		}
	}
	// Progress: one count per instance; one log line per move.
	var progress []provider.Event
	for _, ev := range c.events {
		if ev.Kind == provider.EventProgress {
			progress = append(progress, ev)
		}
	}
	if len(progress) != 6 || progress[5].Done != 6 || progress[5].Total != 6 || progress[0].Unit != "instances" {
		t.Errorf("progress: %+v", progress)
	}
	moves := 0
	for _, l := range c.logs() {
		if strings.HasPrefix(l, "info: vm vm-") && strings.Contains(l, "compute-1 -> compute-3: succeeded in ") {
			moves++
		}
	}
	if moves != 6 || !contains(c.logs(), "recovery of compute-1: running; 6 instances, 6 placed (compute-3 6), 0 not placed") ||
		!contains(c.logs(), "recovery of compute-1: finished; 6 of 6 instances recovered from compute-1") {
		t.Errorf("logs:\n%s", strings.Join(c.logs(), "\n"))
	}
}

func TestHostEvacuateMethods(t *testing.T) {
	all := func(r4 cty.Value) cty.Value {
		return hostsOf(segHost("compute-2", false, 1), segHost("compute-3", false, 2), r4)
	}
	for _, tc := range []struct {
		name    string
		method  string
		hosts   cty.Value
		setup   func(fn *fakeNova)
		moves   string
		status  string
		message string // in every failed move's message
	}{
		{
			name: "reserved_host enables the reserved host and fills it", method: "reserved_host", hosts: all(segHost("compute-4", true, 0)),
			moves:  "vm-1=compute-4 vm-2=compute-4 vm-3=compute-4 vm-4=compute-4 vm-5=compute-4 vm-6=compute-4",
			status: RecoveryFinished,
		},
		{
			name: "rh_priority: reserved first, then auto", method: "rh_priority", hosts: all(segHost("compute-4", true, 0)),
			setup:  func(fn *fakeNova) { fn.hosts["compute-4"].vcpus = 8 },
			moves:  "vm-1=compute-4 vm-2=compute-4 vm-3=compute-4 vm-4=compute-4 vm-5=compute-3 vm-6=compute-3",
			status: RecoveryFinished,
		},
		{
			name: "auto_priority: priority 1 first though it has less room", method: "auto_priority", hosts: all(segHost("compute-4", true, 0)),
			moves:  "vm-1=compute-2 vm-2=compute-2 vm-3=compute-2 vm-4=compute-2 vm-5=compute-3 vm-6=compute-3",
			status: RecoveryFinished,
		},
		{
			name: "auto_priority falls back to the reserved host", method: "auto_priority", hosts: hostsOf(segHost("compute-2", false, 1), segHost("compute-4", true, 0)),
			setup:  func(fn *fakeNova) { fn.hosts["compute-2"].vcpus = 12 },
			moves:  "vm-1=compute-2 vm-2=compute-2 vm-3=compute-4 vm-4=compute-4 vm-5=compute-4 vm-6=compute-4",
			status: RecoveryFinished,
		},
		{
			name: "auto: not enough capacity", method: "auto", hosts: all(segHost("compute-4", true, 0)),
			setup: func(fn *fakeNova) {
				fn.hosts["compute-2"].vcpus = 10 // 2 free
				fn.hosts["compute-3"].vcpus = 6  // 4 free
			},
			moves:   "vm-1=compute-3 vm-2=compute-3 vm-3=compute-2 vm-4=!failed vm-5=!failed vm-6=!failed",
			status:  RecoveryError,
			message: "not placed: not enough free capacity for 2 vCPU, 4096 MB RAM, 1 GB disk (recovery method auto)",
		},
		{
			name: "auto: disk is a limit too", method: "auto", hosts: all(segHost("compute-4", true, 0)),
			setup: func(fn *fakeNova) {
				fn.hosts["compute-3"].localGB = 4 // 1 used by busy-3: room for three
			},
			moves:  "vm-1=compute-3 vm-2=compute-3 vm-3=compute-3 vm-4=compute-2 vm-5=compute-2 vm-6=compute-2",
			status: RecoveryFinished,
		},
		{
			name: "reserved_host: the reserved host is full", method: "reserved_host", hosts: all(segHost("compute-4", true, 0)),
			setup:   func(fn *fakeNova) { fn.server("standby-load", "compute-4", 16, 1024) },
			moves:   "vm-1=!failed vm-2=!failed vm-3=!failed vm-4=!failed vm-5=!failed vm-6=!failed",
			status:  RecoveryFailed,
			message: "free: compute-4 (reserved) 0 vCPU, 31744 MB, 1027 GB",
		},
		{
			name: "reserved_host with no reserved host", method: "reserved_host", hosts: hostsOf(segHost("compute-2", false, 0)),
			moves:   "vm-1=!failed vm-2=!failed vm-3=!failed vm-4=!failed vm-5=!failed vm-6=!failed",
			status:  RecoveryFailed,
			message: "the segment has no usable reserved host",
		},
		{
			name: "an evacuation that ends in ERROR", method: "auto", hosts: all(segHost("compute-4", true, 0)),
			setup:   func(fn *fakeNova) { fn.fail["vm-2"] = "Simulated rebuild failure on the destination." },
			moves:   "vm-1=compute-3 vm-2=!failed vm-3=compute-3 vm-4=compute-3 vm-5=compute-3 vm-6=compute-3",
			status:  RecoveryError,
			message: "is in ERROR: Simulated rebuild failure on the destination.",
		},
		{
			name: "down and disabled hosts are not targets", method: "auto", hosts: all(segHost("compute-4", true, 0)),
			setup: func(fn *fakeNova) {
				fn.hosts["compute-3"].state = "down"
				fn.hosts["compute-2"].status = "disabled"
			},
			moves:   "vm-1=!failed vm-2=!failed vm-3=!failed vm-4=!failed vm-5=!failed vm-6=!failed",
			status:  RecoveryFailed,
			message: "compute-2: its compute service is disabled; compute-3: its compute service is down",
		},
		{
			name: "instances Nova will not evacuate are reported", method: "auto", hosts: all(segHost("compute-4", true, 0)),
			setup: func(fn *fakeNova) {
				for _, s := range fn.servers {
					switch s.name {
					case "vm-1":
						s.status, s.vm = "PAUSED", "paused"
					case "vm-2":
						s.task = "image_snapshot"
					}
				}
			},
			moves:   "vm-1=!failed vm-2=!failed vm-3=compute-3 vm-4=compute-3 vm-5=compute-3 vm-6=compute-3",
			status:  RecoveryError,
			message: "cannot be evacuated",
		},
		{
			name: "a stopped instance stays stopped", method: "auto", hosts: all(segHost("compute-4", true, 0)),
			setup: func(fn *fakeNova) {
				for _, s := range fn.servers {
					if s.name == "vm-1" {
						s.status, s.vm = "SHUTOFF", "stopped"
					}
				}
			},
			moves:  "vm-1=compute-3 vm-2=compute-3 vm-3=compute-3 vm-4=compute-3 vm-5=compute-3 vm-6=compute-3",
			status: RecoveryFinished,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fn := segment(t)
			if tc.setup != nil {
				tc.setup(fn)
			}
			out, c := evacuate(t, fn, map[string]cty.Value{"recovery_method": str(tc.method), "hosts": tc.hosts})
			if c.err != nil {
				t.Fatal(c.err)
			}
			if got := destinations(out); got != tc.moves {
				t.Errorf("moves:\n got %s\nwant %s", got, tc.moves)
			}
			if out.Status != tc.status || out.Succeeded+out.Failed != 6 {
				t.Errorf("status %s (%d succeeded, %d failed), want %s", out.Status, out.Succeeded, out.Failed, tc.status)
			}
			for _, m := range out.VMMoves {
				if m.Status == MoveFailed && !strings.Contains(m.Message, tc.message) {
					t.Errorf("%s failed with %q, want %q", m.Name, m.Message, tc.message)
				}
			}
			// The fake scheduler sets ERROR on an overfilled or disabled
			// target: only the injected failure may show it.
			for _, m := range out.VMMoves {
				if strings.Contains(m.Message, "No valid host") {
					t.Errorf("%s: the plan overfilled or used a disabled host: %s", m.Name, m.Message)
				}
			}
			if strings.Contains(tc.moves, "compute-4") && fn.hosts["compute-4"].status != "enabled" {
				t.Error("the reserved host given instances was not enabled")
			}
		})
	}
}

func TestHostEvacuateParallelism(t *testing.T) {
	fn := newFakeNova(t, 10*time.Millisecond)
	fn.host("compute-1", 64, 65536)
	fn.host("compute-2", 64, 65536)
	for i := range 20 {
		fn.server(fmt.Sprintf("vm-%02d", i), "compute-1", 1, 512)
	}
	out, c := evacuate(t, fn, map[string]cty.Value{"parallelism": cty.NumberIntVal(3)})
	if c.err != nil || out.Succeeded != 20 {
		t.Fatalf("%v: %+v", c.err, out)
	}
	if fn.peak > 3 || fn.peak < 2 {
		t.Errorf("%d evacuations at once with parallelism 3", fn.peak)
	}
}

func TestHostEvacuateCapacitySources(t *testing.T) {
	t.Run("capacity_from servers", func(t *testing.T) {
		fn := segment(t)
		// compute-3's hypervisor still says 2 vCPUs used (its stats lag);
		// its servers use 14.
		fn.server("late", "compute-3", 12, 1024)
		fn.hosts["compute-3"].staleUsedV = ptr(2)
		out, c := evacuate(t, fn, map[string]cty.Value{"capacity_from": str("servers"),
			"hosts": hostsOf(segHost("compute-2", false, 0), segHost("compute-3", false, 0))})
		if c.err != nil {
			t.Fatal(c.err)
		}
		if out.Targets[1].FreeVCPUs != 2 || out.Targets[0].FreeVCPUs != 8 {
			t.Errorf("free vCPUs from the servers: %+v", out.Targets)
		}
		// Room for five: the sixth is reported, nothing is overfilled.
		if got := destinations(out); got != "vm-1=compute-2 vm-2=compute-2 vm-3=compute-2 vm-4=compute-2 vm-5=compute-3 vm-6=!failed" {
			t.Errorf("moves: %s", got)
		}
	})
	t.Run("hypervisors without usage need totals", func(t *testing.T) {
		fn := segment(t)
		fn.hosts["compute-2"].noHypervStt = true
		fn.hosts["compute-3"].noHypervStt = true
		totals := cty.ObjectVal(map[string]cty.Value{"name": str("compute-3"), "vcpus": cty.NumberIntVal(6), "memory_mb": cty.NumberIntVal(16384)})
		out, c := evacuate(t, fn, map[string]cty.Value{"hosts": hostsOf(segHost("compute-2", false, 0), totals)})
		if c.err != nil {
			t.Fatal(c.err)
		}
		// compute-3: 6 vCPU given, 2 used by busy-3: room for two.
		if got := destinations(out); got != "vm-1=compute-3 vm-2=compute-3 vm-3=!failed vm-4=!failed vm-5=!failed vm-6=!failed" {
			t.Errorf("moves: %s", got)
		}
		for _, tg := range out.Targets {
			if tg.Name == "compute-2" && (tg.Usable || !strings.Contains(tg.Reason, "capacity is unknown")) {
				t.Errorf("compute-2 without usage or totals: %+v", tg)
			}
		}
	})
	t.Run("allocation ratios", func(t *testing.T) {
		fn := segment(t)
		fn.hosts["compute-2"].vcpus = 4
		out, c := evacuate(t, fn, map[string]cty.Value{"cpu_allocation_ratio": cty.NumberFloatVal(4),
			"hosts": hostsOf(segHost("compute-2", false, 0))})
		if c.err != nil {
			t.Fatal(c.err)
		}
		if out.Targets[0].FreeVCPUs != 8 { // 4 x 4 - 8 used
			t.Errorf("free vCPUs under ratio 4: %d", out.Targets[0].FreeVCPUs)
		}
	})
}

func TestHostEvacuateOptions(t *testing.T) {
	t.Run("every compute host when hosts is unset", func(t *testing.T) {
		fn := segment(t)
		out, c := evacuate(t, fn, map[string]cty.Value{})
		if c.err != nil || out.Status != RecoveryFinished {
			t.Fatalf("%v %+v", c.err, out)
		}
		// compute-4's service is disabled and, not being reserved, left out.
		if len(out.Targets) != 3 || out.Targets[2].Usable {
			t.Errorf("targets: %+v", out.Targets)
		}
	})
	t.Run("ha_enabled_only", func(t *testing.T) {
		fn := segment(t)
		for _, s := range fn.servers {
			if s.name == "vm-3" {
				s.metadata["HA_Enabled"] = "True"
			}
		}
		out, c := evacuate(t, fn, map[string]cty.Value{"ha_enabled_only": cty.True})
		if c.err != nil || out.Total != 1 || out.VMMoves[0].Name != "vm-3" {
			t.Fatalf("%v %+v", c.err, out)
		}
	})
	t.Run("no instances", func(t *testing.T) {
		fn := segment(t)
		out, c := evacuate(t, fn, map[string]cty.Value{"failed_host": str("compute-2"), "ha_enabled_only": cty.True})
		if c.err != nil || out.Status != RecoveryFinished || out.Total != 0 || out.VMMoves == nil {
			t.Fatalf("%v %+v", c.err, out)
		}
	})
	t.Run("fail_on_error", func(t *testing.T) {
		fn := segment(t)
		fn.fail["vm-1"] = "boom"
		_, c := evacuate(t, fn, map[string]cty.Value{"fail_on_error": cty.True})
		if c.err == nil || !strings.Contains(c.err.Error(), "openstack.host_evacuate: error: 5 of 6 instances recovered from compute-1; 1 failed: vm-1") {
			t.Errorf("fail_on_error: %v", c.err)
		}
	})
	t.Run("without force_down Nova refuses", func(t *testing.T) {
		fn := segment(t)
		out, c := evacuate(t, fn, map[string]cty.Value{"force_down": cty.False})
		if c.err != nil || out.Status != RecoveryFailed || !strings.Contains(out.VMMoves[0].Message, "400 Bad Request: Compute service of compute-1 is still in use.") {
			t.Fatalf("%v %+v", c.err, out.VMMoves)
		}
	})
	t.Run("unknown failed host", func(t *testing.T) {
		fn := segment(t)
		_, c := evacuate(t, fn, map[string]cty.Value{"failed_host": str("compute-9")})
		if pe := providerErr(t, c.err); !pe.Attribute.Equals(cty.GetAttrPath("failed_host")) {
			t.Errorf("unknown host: %v", c.err)
		}
	})
}

func TestHostEvacuateInputErrors(t *testing.T) {
	fn := segment(t)
	for _, tc := range []struct {
		in   map[string]cty.Value
		path cty.Path
		msg  string
	}{
		{map[string]cty.Value{"recovery_method": str("reserved")}, cty.GetAttrPath("recovery_method"), `recovery_method "reserved" is not one of`},
		{map[string]cty.Value{"parallelism": cty.NumberIntVal(0)}, cty.GetAttrPath("parallelism"), "parallelism 0 is not between 1 and 1000"},
		{map[string]cty.Value{"vm_timeout": str("soon")}, cty.GetAttrPath("vm_timeout"), "not a positive duration"},
		{map[string]cty.Value{"capacity_from": str("placement")}, cty.GetAttrPath("capacity_from"), "not hypervisors or servers"},
		{map[string]cty.Value{"ram_allocation_ratio": cty.NumberIntVal(0)}, cty.GetAttrPath("ram_allocation_ratio"), "must be positive"},
		{map[string]cty.Value{"hosts": hostsOf(segHost("compute-2", false, 0), segHost("COMPUTE-2", true, 0))}, cty.GetAttrPath("hosts").IndexInt(1).GetAttr("name"), `host "COMPUTE-2" is listed twice`},
		{map[string]cty.Value{"hosts": hostsOf(segHost("", false, 0))}, cty.GetAttrPath("hosts").IndexInt(0).GetAttr("name"), "a host needs a name"},
		{map[string]cty.Value{"hosts": hostsOf(cty.ObjectVal(map[string]cty.Value{"name": str("x"), "priority": cty.NumberFloatVal(1.5)}))}, cty.GetAttrPath("hosts").IndexInt(0).GetAttr("priority"), ""},
	} {
		_, c := evacuate(t, fn, tc.in)
		pe := providerErr(t, c.err)
		if !pe.Attribute.Equals(tc.path) || !strings.Contains(c.err.Error(), tc.msg) {
			t.Errorf("%v: error %v at %#v", tc.in, c.err, pe.Attribute)
		}
	}
	if n := len(fn.evacs); n != 0 {
		t.Errorf("bad inputs evacuated %d servers", n)
	}
}

func TestHostEvacuateCheck(t *testing.T) {
	fn := segment(t)
	p := fn.fc.provider(nil)
	check := func() sdk.CheckResult {
		resp, err := p.Check(t.Context(), &provider.CheckRequest{Request: provider.Request{Action: "host_evacuate",
			Inputs: cty.ObjectVal(map[string]cty.Value{"failed_host": str("compute-1")})}, Started: time.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return resp.Result
	}
	if r := check(); r != sdk.NotApplied {
		t.Errorf("nothing started: %v", r)
	}
	for _, s := range fn.servers {
		if s.name == "vm-1" {
			s.task = "rebuilding"
		}
	}
	if r := check(); r != sdk.Unknown {
		t.Errorf("an evacuation in flight: %v", r)
	}
}

// TestHostEvacuateOverGRPC passes the hosts list (objects with optional
// attributes, the SDK's type tag) through the real protocol adapter.
func TestHostEvacuateOverGRPC(t *testing.T) {
	fn := segment(t)
	p := providertest.Connect(t, fn.fc.provider(nil))
	schema, err := p.Schema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	as := schema.Actions["host_evacuate"]
	if !as.Mutating || as.Idempotent {
		t.Errorf("host_evacuate flags: mutating %t idempotent %t", as.Mutating, as.Idempotent)
	}
	c := apply(t, p, "host_evacuate", map[string]cty.Value{
		"failed_host": str("compute-1"), "recovery_method": str("rh_priority"),
		"hosts": hostsOf(segHost("compute-2", false, 0), segHost("compute-4", true, 1)),
	})
	if c.err != nil {
		t.Fatal(c.err)
	}
	out := decode[HostEvacuateOut](t, c.out)
	if out.Status != RecoveryFinished || out.VMMoves[0].DestinationHost != "compute-4" {
		t.Errorf("over gRPC: %s %s", out.Status, destinations(out))
	}
}
