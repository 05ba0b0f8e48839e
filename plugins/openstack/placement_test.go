package openstack

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

func prio(p int) *int { return &p }

// vm is an instance of v vCPUs and r MB.
func vm(name string, v, r int) Instance {
	return Instance{ID: "id-" + name, Name: name, VCPUs: v, RAMMB: r}
}

// vms is n instances of v vCPUs and r MB named prefix-1..n.
func vms(prefix string, n, v, r int) []Instance {
	out := make([]Instance, n)
	for i := range out {
		out[i] = vm(fmt.Sprintf("%s-%d", prefix, i+1), v, r)
	}
	return out
}

func TestPlace(t *testing.T) {
	// A segment: two ordinary hosts and two reserved ones.
	c2 := Target{Name: "c2", FreeVCPUs: 16, FreeRAMMB: 32768}
	c3 := Target{Name: "c3", FreeVCPUs: 8, FreeRAMMB: 65536}
	r1 := Target{Name: "r1", Reserved: true, FreeVCPUs: 4, FreeRAMMB: 8192}
	r2 := Target{Name: "r2", Reserved: true, FreeVCPUs: 32, FreeRAMMB: 131072}
	for _, tc := range []struct {
		name      string
		method    Method
		spread    bool
		targets   []Target
		instances []Instance
		// want is each instance's host, in order; "" means not placed, and
		// reason (when set) must be in each unplaced instance's reason.
		want   []string
		reason string
	}{
		{
			name: "auto: the host with the most free vCPU and RAM takes all when it can", method: MethodAuto,
			// c2 and c3 rank the same on their smaller free fraction (1/2); c3 has more RAM.
			targets:   []Target{c2, c3, r2},
			instances: vms("a", 3, 2, 4096),
			want:      []string{"c3", "c3", "c3"},
		},
		{
			name: "auto: ranks on both vCPU and RAM", method: MethodAuto,
			targets: []Target{
				{Name: "cpu-rich", FreeVCPUs: 64, FreeRAMMB: 8192},
				{Name: "balanced", FreeVCPUs: 32, FreeRAMMB: 65536},
				{Name: "ram-rich", FreeVCPUs: 4, FreeRAMMB: 131072},
			},
			instances: vms("a", 2, 1, 1024),
			want:      []string{"balanced", "balanced"},
		},
		{
			name: "auto: spreads over more hosts when one is not enough", method: MethodAuto,
			targets:   []Target{{Name: "x", FreeVCPUs: 4, FreeRAMMB: 8192}, {Name: "y", FreeVCPUs: 4, FreeRAMMB: 8192}, {Name: "z", FreeVCPUs: 2, FreeRAMMB: 4096}},
			instances: vms("a", 5, 2, 4096),
			want:      []string{"x", "x", "y", "y", "z"},
		},
		{
			name: "auto: not enough capacity fails the rest with the reason", method: MethodAuto,
			targets:   []Target{{Name: "x", FreeVCPUs: 4, FreeRAMMB: 8192}},
			instances: vms("a", 3, 2, 4096),
			want:      []string{"x", "x", ""},
			reason:    "not enough free capacity for 2 vCPU, 4096 MB RAM (recovery method auto); free: x 0 vCPU, 0 MB",
		},
		{
			name: "auto: RAM is a limit too", method: MethodAuto,
			targets:   []Target{{Name: "x", FreeVCPUs: 64, FreeRAMMB: 4096}, {Name: "y", FreeVCPUs: 2, FreeRAMMB: 65536}},
			instances: []Instance{vm("big", 1, 8192), vm("small", 1, 2048)},
			want:      []string{"y", "x"},
		},
		{
			name: "auto: disk is a limit where the host reports it", method: MethodAuto,
			targets: []Target{
				{Name: "x", FreeVCPUs: 64, FreeRAMMB: 65536, FreeDiskGB: 50, CheckDisk: true},
				{Name: "y", FreeVCPUs: 8, FreeRAMMB: 16384},
			},
			instances: []Instance{{ID: "a", Name: "a", VCPUs: 1, RAMMB: 512, DiskGB: 40}, {ID: "b", Name: "b", VCPUs: 1, RAMMB: 512, DiskGB: 40}, {ID: "c", Name: "c", VCPUs: 1, RAMMB: 512, DiskGB: 400}},
			// c (largest disk) goes first, to y, which does not count disk;
			// a fills x's disk; b goes to y.
			want: []string{"x", "y", "y"},
		},
		{
			name: "auto: the reason names the disk", method: MethodAuto,
			targets:   []Target{{Name: "x", FreeVCPUs: 64, FreeRAMMB: 65536, FreeDiskGB: 30, CheckDisk: true}},
			instances: []Instance{{ID: "a", Name: "a", VCPUs: 1, RAMMB: 512, DiskGB: 40}},
			want:      []string{""},
			reason:    "not enough free capacity for 1 vCPU, 512 MB RAM, 40 GB disk (recovery method auto); free: x 64 vCPU, 65536 MB, 30 GB",
		},
		{
			name: "auto: reserved hosts are not used", method: MethodAuto,
			targets:   []Target{r1, r2},
			instances: vms("a", 1, 1, 512),
			want:      []string{""},
			reason:    "no usable target for recovery method auto: the segment has no usable host that is not reserved",
		},
		{
			name: "auto: hosts that are down or disabled are left out", method: MethodAuto,
			targets:   []Target{{Name: "x", FreeVCPUs: 64, FreeRAMMB: 65536, Unusable: "its compute service is down"}, {Name: "y", FreeVCPUs: 2, FreeRAMMB: 4096}},
			instances: vms("a", 2, 2, 4096),
			want:      []string{"y", ""},
			reason:    "free: y 0 vCPU, 0 MB",
		},
		{
			name: "auto: nothing usable says why", method: MethodAuto,
			targets:   []Target{{Name: "x", Unusable: "its compute service is down"}, {Name: "y", Unusable: "its compute service is disabled"}},
			instances: vms("a", 1, 1, 512),
			want:      []string{""},
			reason:    "(x: its compute service is down; y: its compute service is disabled)",
		},
		{
			name: "auto: largest first packs, order kept", method: MethodAuto,
			// Smallest-first would put small on x and leave big nowhere.
			targets:   []Target{{Name: "x", FreeVCPUs: 4, FreeRAMMB: 8192}, {Name: "y", FreeVCPUs: 2, FreeRAMMB: 4096}},
			instances: []Instance{vm("small", 2, 4096), vm("big", 4, 8192)},
			want:      []string{"y", "x"},
		},
		{
			name: "auto: an unplaceable instance keeps its reason and takes nothing", method: MethodAuto,
			targets:   []Target{{Name: "x", FreeVCPUs: 2, FreeRAMMB: 4096}},
			instances: []Instance{{ID: "u", Name: "unknown", Unplaceable: "its flavor \"9\" is unknown"}, vm("a", 2, 4096)},
			want:      []string{"", "x"},
			reason:    `its flavor "9" is unknown`,
		},
		{
			name: "auto with spread: balances instead of filling", method: MethodAuto, spread: true,
			targets:   []Target{{Name: "x", FreeVCPUs: 8, FreeRAMMB: 16384}, {Name: "y", FreeVCPUs: 8, FreeRAMMB: 16384}},
			instances: vms("a", 4, 2, 4096),
			want:      []string{"x", "y", "x", "y"},
		},
		{
			name: "auto_priority: lowest priority number first, even with less room", method: MethodAutoPriority,
			targets: []Target{
				{Name: "c2", FreeVCPUs: 16, FreeRAMMB: 32768, Priority: prio(2)},
				{Name: "c3", FreeVCPUs: 4, FreeRAMMB: 8192, Priority: prio(1)},
				{Name: "c4", FreeVCPUs: 64, FreeRAMMB: 131072},
			},
			instances: vms("a", 4, 2, 4096),
			want:      []string{"c3", "c3", "c2", "c2"},
		},
		{
			name: "auto_priority: hosts without a priority come last", method: MethodAutoPriority,
			targets: []Target{
				{Name: "c4", FreeVCPUs: 64, FreeRAMMB: 131072},
				{Name: "c2", FreeVCPUs: 2, FreeRAMMB: 4096, Priority: prio(5)},
			},
			instances: vms("a", 2, 2, 4096),
			want:      []string{"c2", "c4"},
		},
		{
			name: "auto_priority: reserved hosts when the others are full", method: MethodAutoPriority,
			targets: []Target{
				{Name: "c2", FreeVCPUs: 2, FreeRAMMB: 4096, Priority: prio(1)},
				{Name: "r1", Reserved: true, FreeVCPUs: 8, FreeRAMMB: 16384, Priority: prio(2)},
				{Name: "r2", Reserved: true, FreeVCPUs: 8, FreeRAMMB: 16384, Priority: prio(1)},
			},
			instances: vms("a", 3, 2, 4096),
			want:      []string{"c2", "r2", "r2"},
		},
		{
			name: "reserved_host: only reserved hosts, by priority", method: MethodReservedHost,
			targets: []Target{c2, c3,
				{Name: "r1", Reserved: true, FreeVCPUs: 4, FreeRAMMB: 8192, Priority: prio(1)},
				{Name: "r2", Reserved: true, FreeVCPUs: 32, FreeRAMMB: 131072, Priority: prio(2)},
			},
			instances: vms("a", 3, 2, 4096),
			want:      []string{"r1", "r1", "r2"},
		},
		{
			name: "reserved_host: a full reserved host fails the rest, ordinary hosts stay unused", method: MethodReservedHost,
			targets:   []Target{c2, c3, {Name: "r1", Reserved: true, FreeVCPUs: 2, FreeRAMMB: 4096}},
			instances: vms("a", 2, 2, 4096),
			want:      []string{"r1", ""},
			reason:    "not enough free capacity for 2 vCPU, 4096 MB RAM (recovery method reserved_host); free: r1 (reserved) 0 vCPU, 0 MB",
		},
		{
			name: "reserved_host: a reserved host full from the start", method: MethodReservedHost,
			targets:   []Target{c2, {Name: "r1", Reserved: true, FreeVCPUs: 0, FreeRAMMB: 0}},
			instances: vms("a", 1, 1, 512),
			want:      []string{""},
			reason:    "free: r1 (reserved) 0 vCPU, 0 MB",
		},
		{
			name: "reserved_host: no reserved host", method: MethodReservedHost,
			targets:   []Target{c2, c3},
			instances: vms("a", 1, 1, 512),
			want:      []string{""},
			reason:    "the segment has no usable reserved host",
		},
		{
			name: "reserved_host: a reserved host that is down", method: MethodReservedHost,
			targets:   []Target{c2, {Name: "r1", Reserved: true, FreeVCPUs: 32, FreeRAMMB: 65536, Unusable: "its compute service is down"}},
			instances: vms("a", 1, 1, 512),
			want:      []string{""},
			reason:    "r1 (reserved): its compute service is down",
		},
		{
			name: "rh_priority: reserved first, then auto by free capacity", method: MethodRHPriority,
			targets: []Target{
				{Name: "c2", FreeVCPUs: 16, FreeRAMMB: 32768, Priority: prio(1)},
				{Name: "c3", FreeVCPUs: 32, FreeRAMMB: 65536, Priority: prio(9)},
				{Name: "r1", Reserved: true, FreeVCPUs: 4, FreeRAMMB: 8192},
			},
			instances: vms("a", 4, 2, 4096),
			// auto ignores priorities: c3 has the most room.
			want: []string{"r1", "r1", "c3", "c3"},
		},
		{
			name: "rh_priority: reserved host full from the start goes straight to auto", method: MethodRHPriority,
			targets:   []Target{c2, {Name: "r1", Reserved: true}},
			instances: vms("a", 2, 2, 4096),
			want:      []string{"c2", "c2"},
		},
		{
			name: "rh_priority: not enough anywhere", method: MethodRHPriority,
			targets:   []Target{{Name: "c2", FreeVCPUs: 2, FreeRAMMB: 4096}, {Name: "r1", Reserved: true, FreeVCPUs: 2, FreeRAMMB: 4096}},
			instances: vms("a", 3, 2, 4096),
			want:      []string{"r1", "c2", ""},
			reason:    "free: r1 (reserved) 0 vCPU, 0 MB; c2 0 vCPU, 0 MB",
		},
		{
			name: "rh_priority with spread: spreads within a priority", method: MethodRHPriority, spread: true,
			targets: []Target{
				{Name: "r1", Reserved: true, FreeVCPUs: 4, FreeRAMMB: 8192, Priority: prio(1)},
				{Name: "r2", Reserved: true, FreeVCPUs: 4, FreeRAMMB: 8192, Priority: prio(1)},
				{Name: "r3", Reserved: true, FreeVCPUs: 64, FreeRAMMB: 131072, Priority: prio(2)},
			},
			instances: vms("a", 4, 2, 4096),
			want:      []string{"r1", "r2", "r1", "r2"},
		},
		{
			name: "no instances", method: MethodRHPriority,
			targets: []Target{c2}, instances: nil, want: []string{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			plan, err := Place(tc.method, tc.targets, tc.instances, PlaceOptions{Spread: tc.spread})
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for i, p := range plan.Placements {
				got = append(got, p.Host)
				if p.Instance.ID != tc.instances[i].ID {
					t.Errorf("placement %d is for %s, want %s (order kept)", i, p.Instance.ID, tc.instances[i].ID)
				}
				if p.Host == "" && (p.Reason == "" || !strings.Contains(p.Reason, tc.reason)) {
					t.Errorf("%s not placed, reason %q, want it to contain %q", p.Instance.Name, p.Reason, tc.reason)
				}
				if p.Host != "" && p.Reason != "" {
					t.Errorf("%s placed on %s with a reason %q", p.Instance.Name, p.Host, p.Reason)
				}
			}
			if strings.Join(got, ",") != strings.Join(tc.want, ",") {
				t.Errorf("hosts %v, want %v", got, tc.want)
			}
			checkCapacity(t, tc.targets, plan)
		})
	}
}

// checkCapacity fails if any host was given more than it had free, or if
// the plan's accounting disagrees with its placements.
func checkCapacity(t *testing.T, targets []Target, plan Plan) {
	t.Helper()
	usedV, usedR, usedD, count := map[string]int{}, map[string]int{}, map[string]int{}, map[string]int{}
	for _, p := range plan.Placements {
		if p.Host != "" {
			usedV[p.Host] += p.Instance.VCPUs
			usedR[p.Host] += p.Instance.RAMMB
			usedD[p.Host] += p.Instance.DiskGB
			count[p.Host]++
		}
	}
	for i, tg := range targets {
		hu := plan.Hosts[i]
		if hu.Name != tg.Name {
			t.Fatalf("host %d is %s, want %s", i, hu.Name, tg.Name)
		}
		if tg.Unusable != "" && count[tg.Name] > 0 {
			t.Errorf("unusable host %s was given %d instances", tg.Name, count[tg.Name])
		}
		if usedV[tg.Name] > tg.FreeVCPUs || usedR[tg.Name] > tg.FreeRAMMB || (tg.CheckDisk && usedD[tg.Name] > tg.FreeDiskGB) {
			t.Errorf("host %s given %d vCPU / %d MB / %d GB with %d / %d / %d free", tg.Name, usedV[tg.Name], usedR[tg.Name], usedD[tg.Name], tg.FreeVCPUs, tg.FreeRAMMB, tg.FreeDiskGB)
		}
		if hu.Assigned != count[tg.Name] || hu.FreeVCPUsAfter != tg.FreeVCPUs-usedV[tg.Name] || hu.FreeRAMMBAfter != tg.FreeRAMMB-usedR[tg.Name] {
			t.Errorf("host %s accounting: %+v, placements say %d instances, %d vCPU, %d MB", tg.Name, hu, count[tg.Name], usedV[tg.Name], usedR[tg.Name])
		}
	}
}

// TestPlaceNeverOverfills places random instances on random segments with
// every method: no host ever gets more than its free capacity, every
// instance is placed or has a reason, and an instance is left out only
// when no candidate host of its method has room for it at the end.
func TestPlaceNeverOverfills(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 2000 {
		var targets []Target
		for i := range 1 + rng.IntN(6) {
			tg := Target{Name: fmt.Sprintf("h%d", i), Reserved: rng.IntN(3) == 0, FreeVCPUs: rng.IntN(33), FreeRAMMB: 1024 * rng.IntN(65),
				FreeDiskGB: 20 * rng.IntN(30), CheckDisk: rng.IntN(2) == 0}
			if rng.IntN(2) == 0 {
				tg.Priority = prio(rng.IntN(4))
			}
			if rng.IntN(8) == 0 {
				tg.Unusable = "down"
			}
			targets = append(targets, tg)
		}
		var instances []Instance
		for i := range rng.IntN(40) {
			in := vm(fmt.Sprintf("vm%d", i), 1+rng.IntN(8), 512*(1+rng.IntN(32)))
			in.DiskGB = 10 * rng.IntN(9)
			instances = append(instances, in)
		}
		method := Methods[iter%len(Methods)]
		spread := iter%8 >= 4
		plan, err := Place(method, targets, instances, PlaceOptions{Spread: spread})
		if err != nil {
			t.Fatal(err)
		}
		checkCapacity(t, targets, plan)
		for _, p := range plan.Placements {
			if p.Host == "" && p.Reason == "" {
				t.Fatalf("iteration %d: %s neither placed nor given a reason", iter, p.Instance.Name)
			}
			if p.Host != "" {
				continue
			}
			for _, hu := range plan.Hosts {
				if hu.Unusable != "" || !candidate(method, hu.Reserved) {
					continue
				}
				if p.Instance.VCPUs <= hu.FreeVCPUsAfter && p.Instance.RAMMB <= hu.FreeRAMMBAfter && (!hu.CheckDisk || p.Instance.DiskGB <= hu.FreeDiskGBAfter) {
					t.Fatalf("iteration %d (%s, spread %t): %s (%d vCPU, %d MB) left out though %s has %d vCPU, %d MB free",
						iter, method, spread, p.Instance.Name, p.Instance.VCPUs, p.Instance.RAMMB, hu.Name, hu.FreeVCPUsAfter, hu.FreeRAMMBAfter)
				}
			}
		}
	}
}

// candidate says whether a method may use a host that is (not) reserved.
func candidate(m Method, reserved bool) bool {
	switch m {
	case MethodAuto:
		return !reserved
	case MethodReservedHost:
		return reserved
	}
	return true
}

func TestFreeCapacity(t *testing.T) {
	for _, tc := range []struct {
		vcpus, vused, mem, mused int
		cpuRatio, ramRatio       float64
		wantV, wantR             int
	}{
		{32, 10, 131072, 65536, 1, 1, 22, 65536},
		{32, 40, 131072, 140000, 1, 1, 0, 0},         // overcommitted already: nothing free
		{32, 40, 131072, 65536, 4, 1.5, 88, 131072},  // allocation ratios
		{3, 0, 1000, 0, 1.5, 1.5, 4, 1500},           // floors
		{8, 0, 8192, 0, 0, -1, 8, 8192},              // a ratio of 0 or less means 1
		{32, 0, 131072, 512, 1, 1, 32, 131072 - 512}, // reserved host memory shows as used
	} {
		v, r := FreeCapacity(tc.vcpus, tc.vused, tc.mem, tc.mused, tc.cpuRatio, tc.ramRatio)
		if v != tc.wantV || r != tc.wantR {
			t.Errorf("FreeCapacity(%d, %d, %d, %d, %g, %g) = %d, %d; want %d, %d", tc.vcpus, tc.vused, tc.mem, tc.mused, tc.cpuRatio, tc.ramRatio, v, r, tc.wantV, tc.wantR)
		}
	}
}

func TestFreeDisk(t *testing.T) {
	for _, tc := range []struct {
		local, used int
		ratio       float64
		want        int
	}{{4096, 40, 1, 4056}, {100, 150, 1, 0}, {100, 150, 2, 50}, {100, 0, 0, 100}} {
		if got := FreeDisk(tc.local, tc.used, tc.ratio); got != tc.want {
			t.Errorf("FreeDisk(%d, %d, %g) = %d, want %d", tc.local, tc.used, tc.ratio, got, tc.want)
		}
	}
	for _, tc := range []struct {
		root, eph, swap int
		bfv             bool
		want            int
	}{{20, 0, 0, false, 20}, {20, 10, 0, false, 30}, {20, 0, 512, false, 21}, {20, 0, 2048, false, 22}, {20, 5, 1, true, 6}} {
		if got := diskGB(tc.root, tc.eph, tc.swap, tc.bfv); got != tc.want {
			t.Errorf("diskGB(%d, %d, %d, %t) = %d, want %d", tc.root, tc.eph, tc.swap, tc.bfv, got, tc.want)
		}
	}
}

func TestParseMethod(t *testing.T) {
	for _, s := range []string{"auto", "auto_priority", "reserved_host", "rh_priority"} {
		if m, err := ParseMethod(s); err != nil || string(m) != s {
			t.Errorf("ParseMethod(%q) = %q, %v", s, m, err)
		}
	}
	if m, err := ParseMethod(""); err != nil || m != MethodAuto {
		t.Errorf(`ParseMethod("") = %q, %v`, m, err)
	}
	if _, err := ParseMethod("reserved"); err == nil || !strings.Contains(err.Error(), "auto, auto_priority, reserved_host, rh_priority") {
		t.Errorf("ParseMethod(reserved): %v", err)
	}
	if _, err := Place("nope", nil, nil, PlaceOptions{}); err == nil {
		t.Error("Place with an unknown method succeeded")
	}
}
