package openstack

import (
	"fmt"
	"math"
	"sort"
	"strings"
)

// Placement of evacuated instances on target hosts: pure functions, no
// cloud. host_evacuate feeds them what Nova says (capacity, instances) and
// acts on the answer; the tests feed them tables.
//
// The capacity model: a host's free vCPUs are floor(vcpus x
// cpu_allocation_ratio) - vcpus_used, its free RAM floor(memory_mb x
// ram_allocation_ratio) - memory_mb_used, its free disk floor(local_gb x
// disk_allocation_ratio) - local_gb_used (from hypervisor_list, or the
// used part summed over the servers on the host and their flavors). Disk
// counts because Nova's placement claims DISK_GB for an evacuated
// instance's flavor (root, ephemeral and swap; no root for one booted
// from a volume) even when its disk is on shared storage; a host that
// reports no disk is not limited by it. An instance fits a host when its
// vCPUs, RAM and disk fit in what is free; every placement takes them
// off, so no host is ever given more than it has free.
//
// The recovery methods (Masakari's, seed 003), over the segment's hosts
// other than the failed one:
//
//   - auto: the hosts not reserved, the one with the most free capacity
//     first; instances go to the first host in that order that has room
//     (one host takes them all when it can; they spread over the next
//     ones when it cannot).
//   - auto_priority: the hosts not reserved in priority order (lowest
//     number first; hosts without a priority last; ties by free
//     capacity), then, when they are full, the reserved hosts in the same
//     order (Masakari: auto first, then reserved_host).
//   - reserved_host: the reserved hosts only, in priority order.
//   - rh_priority: the reserved hosts in priority order, then the others
//     as auto does (Masakari: reserved_host first, then auto).
//
// "Most free capacity" ranks a host by the smaller of its two free
// fractions, free vCPUs over the most free vCPUs of any candidate and
// free RAM over the most free RAM, so that a host needs both to rank high;
// ties go to more free RAM, then more free vCPUs, then the name.
//
// Instances are placed largest first (vCPUs, then RAM, then disk, then
// name and id),
// which packs better; the answer keeps the order they were given in. With
// Spread, each instance instead goes to the candidate with the most free
// capacity at that moment (within one priority), which balances the load
// at the cost of using more hosts.

// Method is a segment's recovery method.
type Method string

// The recovery methods of seed 003 (Masakari's segment recovery_method).
const (
	MethodAuto         Method = "auto"
	MethodAutoPriority Method = "auto_priority"
	MethodReservedHost Method = "reserved_host"
	MethodRHPriority   Method = "rh_priority"
)

// Methods lists the recovery methods.
var Methods = []Method{MethodAuto, MethodAutoPriority, MethodReservedHost, MethodRHPriority}

// Target is a host of the segment that may receive instances.
type Target struct {
	Name     string
	Reserved bool
	// Priority orders hosts for auto_priority, reserved_host and
	// rh_priority: lower first; nil after every host that has one.
	Priority  *int
	FreeVCPUs int
	FreeRAMMB int
	// FreeDiskGB limits the disk placed on the host when CheckDisk is
	// set (the host reports its disk).
	FreeDiskGB int
	CheckDisk  bool
	// Unusable says why the host takes nothing (down, disabled, unknown
	// capacity); empty when it is a candidate.
	Unusable string
}

// Instance is a server to place.
type Instance struct {
	ID     string
	Name   string
	VCPUs  int
	RAMMB  int
	DiskGB int
	// Unplaceable says why the instance cannot be placed at all (its size
	// is unknown, its state cannot be evacuated); empty otherwise.
	Unplaceable string
}

// Placement is the decision for one instance: Host, or why none.
type Placement struct {
	Instance Instance
	Host     string
	Reason   string
}

// HostUse is a target's part in a placement.
type HostUse struct {
	Target
	Assigned        int
	FreeVCPUsAfter  int
	FreeRAMMBAfter  int
	FreeDiskGBAfter int
}

// PlaceOptions tune Place.
type PlaceOptions struct {
	Spread bool
}

// Plan is the answer of Place: one Placement per instance, in the order
// given, and what each target took, in the order given.
type Plan struct {
	Placements []Placement
	Hosts      []HostUse
}

// ParseMethod reads a recovery method; "" is auto.
func ParseMethod(s string) (Method, error) {
	if s == "" {
		return MethodAuto, nil
	}
	for _, m := range Methods {
		if string(m) == s {
			return m, nil
		}
	}
	names := make([]string, len(Methods))
	for i, m := range Methods {
		names[i] = string(m)
	}
	return "", fmt.Errorf("recovery_method %q is not one of %s", s, strings.Join(names, ", "))
}

// FreeCapacity is the capacity model: what is left of a host's vCPUs and
// RAM under the allocation ratios, never below zero.
func FreeCapacity(vcpus, vcpusUsed, memoryMB, memoryMBUsed int, cpuRatio, ramRatio float64) (freeVCPUs, freeRAMMB int) {
	if cpuRatio <= 0 {
		cpuRatio = 1
	}
	if ramRatio <= 0 {
		ramRatio = 1
	}
	freeVCPUs = int(math.Floor(float64(vcpus)*cpuRatio+1e-9)) - vcpusUsed
	freeRAMMB = int(math.Floor(float64(memoryMB)*ramRatio+1e-9)) - memoryMBUsed
	return max(freeVCPUs, 0), max(freeRAMMB, 0)
}

// FreeDisk is the capacity model's free disk (GB) under the allocation
// ratio, never below zero.
func FreeDisk(localGB, localGBUsed int, ratio float64) int {
	if ratio <= 0 {
		ratio = 1
	}
	return max(int(math.Floor(float64(localGB)*ratio+1e-9))-localGBUsed, 0)
}

// slot is a target while placing: its free capacity goes down.
type slot struct {
	t        Target
	index    int // in the targets given
	freeV    int
	freeR    int
	freeD    int
	assigned int
	byPrio   bool // ranked by priority within its tier
}

func (s *slot) fits(in Instance) bool {
	return in.VCPUs <= s.freeV && in.RAMMB <= s.freeR && (!s.t.CheckDisk || in.DiskGB <= s.freeD)
}

func (s *slot) label() string {
	l := s.t.Name
	if s.t.Reserved {
		l += " (reserved)"
	}
	return l
}

// Place decides where each instance goes.
func Place(method Method, targets []Target, instances []Instance, opts PlaceOptions) (Plan, error) {
	slots := make([]*slot, len(targets))
	for i, t := range targets {
		slots[i] = &slot{t: t, index: i, freeV: max(t.FreeVCPUs, 0), freeR: max(t.FreeRAMMB, 0), freeD: max(t.FreeDiskGB, 0)}
	}
	tiers, err := tiersFor(method, slots)
	if err != nil {
		return Plan{}, err
	}
	order := make([]int, len(instances))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool {
		x, y := instances[order[a]], instances[order[b]]
		if x.VCPUs != y.VCPUs {
			return x.VCPUs > y.VCPUs
		}
		if x.RAMMB != y.RAMMB {
			return x.RAMMB > y.RAMMB
		}
		if x.DiskGB != y.DiskGB {
			return x.DiskGB > y.DiskGB
		}
		if x.Name != y.Name {
			return x.Name < y.Name
		}
		return x.ID < y.ID
	})
	plan := Plan{Placements: make([]Placement, len(instances))}
	for _, i := range order {
		in := instances[i]
		p := Placement{Instance: in}
		switch {
		case in.Unplaceable != "":
			p.Reason = in.Unplaceable
		default:
			if s := choose(tiers, in, opts.Spread); s != nil {
				s.freeV -= in.VCPUs
				s.freeR -= in.RAMMB
				s.freeD -= in.DiskGB
				s.assigned++
				p.Host = s.t.Name
			} else {
				p.Reason = noRoom(method, tiers, slots, in)
			}
		}
		plan.Placements[i] = p
	}
	for _, s := range slots {
		plan.Hosts = append(plan.Hosts, HostUse{Target: s.t, Assigned: s.assigned, FreeVCPUsAfter: s.freeV, FreeRAMMBAfter: s.freeR, FreeDiskGBAfter: s.freeD})
	}
	return plan, nil
}

// tiersFor orders the usable targets for method: instances try the first
// tier, then the next.
func tiersFor(method Method, slots []*slot) ([][]*slot, error) {
	var reserved, others []*slot
	for _, s := range slots {
		if s.t.Unusable != "" {
			continue
		}
		if s.t.Reserved {
			reserved = append(reserved, s)
		} else {
			others = append(others, s)
		}
	}
	switch method {
	case MethodAuto:
		return [][]*slot{byCapacity(others)}, nil
	case MethodAutoPriority:
		return [][]*slot{byPriority(others), byPriority(reserved)}, nil
	case MethodReservedHost:
		return [][]*slot{byPriority(reserved)}, nil
	case MethodRHPriority:
		return [][]*slot{byPriority(reserved), byCapacity(others)}, nil
	}
	_, err := ParseMethod(string(method))
	return nil, err
}

// capacityScore is a host's rank by free capacity among hosts whose most
// free vCPUs and RAM are maxV and maxR: the smaller free fraction.
func capacityScore(freeV, freeR, maxV, maxR int) float64 {
	fv, fr := 1.0, 1.0
	if maxV > 0 {
		fv = float64(freeV) / float64(maxV)
	}
	if maxR > 0 {
		fr = float64(freeR) / float64(maxR)
	}
	return math.Min(fv, fr)
}

// moreFree orders slots by free capacity (now), most first.
func moreFree(ss []*slot) func(a, b *slot) int {
	maxV, maxR := 0, 0
	for _, s := range ss {
		maxV, maxR = max(maxV, s.freeV), max(maxR, s.freeR)
	}
	return func(a, b *slot) int {
		sa, sb := capacityScore(a.freeV, a.freeR, maxV, maxR), capacityScore(b.freeV, b.freeR, maxV, maxR)
		switch {
		case sa != sb:
			if sa > sb {
				return -1
			}
			return 1
		case a.freeR != b.freeR:
			return b.freeR - a.freeR
		case a.freeV != b.freeV:
			return b.freeV - a.freeV
		}
		return strings.Compare(a.t.Name, b.t.Name)
	}
}

func byCapacity(ss []*slot) []*slot {
	out := append([]*slot(nil), ss...)
	cmp := moreFree(out)
	sort.SliceStable(out, func(i, j int) bool { return cmp(out[i], out[j]) < 0 })
	return out
}

// prioKey orders priorities: lower first, none last.
func prioKey(p *int) (bool, int) {
	if p == nil {
		return true, 0
	}
	return false, *p
}

func prioLess(a, b *slot) int {
	na, pa := prioKey(a.t.Priority)
	nb, pb := prioKey(b.t.Priority)
	switch {
	case na != nb:
		if na {
			return 1
		}
		return -1
	case pa != pb:
		return pa - pb
	}
	return 0
}

func byPriority(ss []*slot) []*slot {
	out := append([]*slot(nil), ss...)
	cmp := moreFree(out)
	sort.SliceStable(out, func(i, j int) bool {
		if c := prioLess(out[i], out[j]); c != 0 {
			return c < 0
		}
		return cmp(out[i], out[j]) < 0
	})
	for _, s := range out {
		s.byPrio = true
	}
	return out
}

// choose is the slot an instance goes to: the first tier with room; in
// it, the first slot in rank order that fits, or with spread the one with
// the most free capacity now (within the best priority that fits).
func choose(tiers [][]*slot, in Instance, spread bool) *slot {
	for _, tier := range tiers {
		var fit []*slot
		for _, s := range tier {
			if s.fits(in) {
				fit = append(fit, s)
			}
		}
		if len(fit) == 0 {
			continue
		}
		if !spread {
			return fit[0]
		}
		if fit[0].byPrio {
			best := fit[:0:0]
			for _, s := range fit {
				if prioLess(s, fit[0]) == 0 {
					best = append(best, s)
				}
			}
			fit = best
		}
		cmp := moreFree(tier)
		pick := fit[0]
		for _, s := range fit[1:] {
			if cmp(s, pick) < 0 {
				pick = s
			}
		}
		return pick
	}
	return nil
}

// noRoom says why an instance found no host.
func noRoom(method Method, tiers [][]*slot, slots []*slot, in Instance) string {
	var usable []*slot
	for _, tier := range tiers {
		usable = append(usable, tier...)
	}
	need := fmt.Sprintf("%d vCPU, %d MB RAM", in.VCPUs, in.RAMMB)
	disk := false
	for _, s := range usable {
		disk = disk || s.t.CheckDisk
	}
	if disk {
		need += fmt.Sprintf(", %d GB disk", in.DiskGB)
	}
	if len(usable) == 0 {
		what := "host"
		switch method {
		case MethodReservedHost:
			what = "reserved host"
		case MethodAuto:
			what = "host that is not reserved"
		}
		var why []string
		for _, s := range slots {
			if s.t.Unusable != "" {
				why = append(why, s.label()+": "+s.t.Unusable)
			}
		}
		msg := fmt.Sprintf("no usable target for recovery method %s: the segment has no usable %s", method, what)
		if len(why) > 0 {
			msg += " (" + strings.Join(why, "; ") + ")"
		}
		return msg
	}
	var free []string
	for i, s := range usable {
		if i == 4 {
			free = append(free, fmt.Sprintf("and %d more", len(usable)-i))
			break
		}
		f := fmt.Sprintf("%s %d vCPU, %d MB", s.label(), s.freeV, s.freeR)
		if s.t.CheckDisk {
			f += fmt.Sprintf(", %d GB", s.freeD)
		}
		free = append(free, f)
	}
	return fmt.Sprintf("not enough free capacity for %s (recovery method %s); free: %s", need, method, strings.Join(free, "; "))
}
