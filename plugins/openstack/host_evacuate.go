package openstack

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/hypervisors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Defaults of host_evacuate.
const (
	DefaultEvacuateParallelism = 10
	DefaultVMTimeout           = 10 * time.Minute
	maxParallelism             = 1000
	evacuatePostAttempts       = 3
)

// The statuses of one VM move and of the whole recovery (seed 003: the
// VM evacuation and notification statuses of Masakari's dashboard).
const (
	MovePending   = "pending"
	MoveRunning   = "running"
	MoveSucceeded = "succeeded"
	MoveFailed    = "failed"

	RecoveryNew      = "new"
	RecoveryRunning  = "running"
	RecoveryFinished = "finished" // every instance recovered
	RecoveryError    = "error"    // some recovered, some not
	RecoveryFailed   = "failed"   // instances to recover, none recovered
)

// Inputs and outputs of host_evacuate.
type (
	// SegmentHost is one host of the failover segment.
	SegmentHost struct {
		Name     string `cty:"name"`
		Reserved *bool  `cty:"reserved"`
		Priority *int   `cty:"priority"`
		VCPUs    *int   `cty:"vcpus"`
		MemoryMB *int   `cty:"memory_mb"`
		DiskGB   *int   `cty:"disk_gb"`
	}
	HostEvacuateIn struct {
		FailedHost          string        `cty:"failed_host" runbook:"required" help:"The failed compute host (Nova's service host name)."`
		RecoveryMethod      string        `cty:"recovery_method" help:"auto (default), auto_priority, reserved_host or rh_priority."`
		Hosts               []SegmentHost `cty:"hosts" type:"list(object({name=string, reserved=optional(bool), priority=optional(number), vcpus=optional(number), memory_mb=optional(number), disk_gb=optional(number)}))" help:"The segment's hosts: name, reserved (default false), priority (lower first; unset last), and optionally vcpus, memory_mb and disk_gb to use as the host's totals. Unset: every nova-compute host but the failed one, none reserved."`
		Parallelism         *int          `cty:"parallelism" help:"How many evacuations run at once (default 10)."`
		Spread              bool          `cty:"spread" help:"Give each instance the candidate with the most free capacity at that moment instead of filling the best host first."`
		CPUAllocationRatio  *float64      `cty:"cpu_allocation_ratio" help:"vCPU overcommit allowed on targets (default 1: none)."`
		RAMAllocationRatio  *float64      `cty:"ram_allocation_ratio" help:"RAM overcommit allowed on targets (default 1: none)."`
		DiskAllocationRatio *float64      `cty:"disk_allocation_ratio" help:"Disk overcommit allowed on targets (default 1: none)."`
		IgnoreDisk          bool          `cty:"ignore_disk" help:"Do not count disk (Nova's placement does: set it only for clouds whose compute nodes share a disk resource provider)."`
		CapacityFrom        string        `cty:"capacity_from" help:"Where used capacity comes from: hypervisors (default: vcpus_used and memory_mb_used) or servers (the servers on each host and their flavors)."`
		HAEnabledOnly       bool          `cty:"ha_enabled_only" help:"Evacuate only instances whose metadata has HA_Enabled=True (Masakari's convention)."`
		ForceDown           *bool         `cty:"force_down" help:"Disable and force down the failed host's nova-compute service first (default true); Nova evacuates only from a host it sees down."`
		DisabledReason      string        `cty:"disabled_reason" help:"Reason recorded on the disabled service."`
		OnSharedStorage     bool          `cty:"on_shared_storage" help:"Sent to Nova below microversion 2.14 only."`
		VMTimeout           string        `cty:"vm_timeout" help:"How long one evacuation may take, such as \"10m\" (the default)."`
		FailOnError         bool          `cty:"fail_on_error" help:"Fail the step when any instance failed (the outputs are then lost); by default the step succeeds and status tells."`
	}
	// VMMove is one row of the VM moves table (seed 003).
	VMMove struct {
		Server          string `cty:"server" help:"Instance id."`
		Name            string `cty:"name"`
		SourceHost      string `cty:"source_host"`
		DestinationHost string `cty:"destination_host" help:"Where the instance runs now; the planned target while pending or running; empty when it could not be placed."`
		Status          string `cty:"status" help:"pending, running, succeeded or failed."`
		Started         string `cty:"started"`
		Ended           string `cty:"ended"`
		Message         string `cty:"message" help:"Why it failed."`
	}
	// TargetOut is one segment host's part in the recovery.
	TargetOut struct {
		Name            string `cty:"name"`
		Reserved        bool   `cty:"reserved"`
		Priority        *int   `cty:"priority"`
		Usable          bool   `cty:"usable"`
		Reason          string `cty:"reason" help:"Why the host was not a candidate."`
		FreeVCPUs       int    `cty:"free_vcpus" help:"Free vCPUs before the recovery."`
		FreeRAMMB       int    `cty:"free_ram_mb" help:"Free RAM (MB) before the recovery."`
		Assigned        int    `cty:"assigned" help:"Instances placed on the host."`
		FreeVCPUsAfter  int    `cty:"free_vcpus_after"`
		FreeRAMMBAfter  int    `cty:"free_ram_mb_after"`
		FreeDiskGB      *int   `cty:"free_disk_gb" help:"Free disk (GB) before the recovery; null when the host reports none (not limited)."`
		FreeDiskGBAfter *int   `cty:"free_disk_gb_after"`
	}
	HostEvacuateOut struct {
		Status    string      `cty:"status" help:"finished (all recovered), error (some failed), failed (none recovered)."`
		Total     int         `cty:"total"`
		Succeeded int         `cty:"succeeded"`
		Failed    int         `cty:"failed"`
		VMMoves   []VMMove    `cty:"vm_moves"`
		Targets   []TargetOut `cty:"targets"`
		Message   string      `cty:"message"`
	}
)

// hostEvacuate is one run of the action, with its validated inputs.
type hostEvacuate struct {
	c         *cloud
	s         *session
	r         sdk.Reporter
	in        HostEvacuateIn
	method    Method
	parallel  int
	timeout   time.Duration
	cpuRatio  float64
	ramRatio  float64
	diskRatio float64
	now       func() time.Time

	found    []servers.Server // the instances on the failed host
	hintMu   sync.Mutex
	hint     time.Duration             // the quickest evacuation seen so far in this run
	disabled map[string]bool           // target host -> its service is disabled
	flavors  map[string]flavors.Flavor // by id, read once when needed
}

func (c *cloud) registerHostEvacuate(p *sdk.Provider) {
	p.Action("host_evacuate", sdk.Action[HostEvacuateIn, HostEvacuateOut]{
		Description: "Instance-HA recovery of a failed compute host (seed 003): disables and forces down its nova-compute service, places its instances on the segment's hosts by recovery method and evacuates them in parallel, reporting every VM move.",
		Mutating:    true,
		Apply:       c.hostEvacuate,
		Check:       c.checkHostEvacuate,
	})
}

// validate reads the inputs; errors point at the input.
func (c *cloud) validateHostEvacuate(in HostEvacuateIn) (*hostEvacuate, error) {
	h := &hostEvacuate{c: c, in: in, parallel: DefaultEvacuateParallelism, cpuRatio: 1, ramRatio: 1, diskRatio: 1, now: time.Now}
	var err error
	if h.method, err = ParseMethod(in.RecoveryMethod); err != nil {
		return nil, attrErr("recovery_method", err)
	}
	if in.Parallelism != nil {
		if *in.Parallelism < 1 || *in.Parallelism > maxParallelism {
			return nil, attrErr("parallelism", fmt.Errorf("parallelism %d is not between 1 and %d", *in.Parallelism, maxParallelism))
		}
		h.parallel = *in.Parallelism
	}
	if h.timeout, err = parseDuration("vm_timeout", in.VMTimeout, DefaultVMTimeout); err != nil {
		return nil, err
	}
	for attr, ratio := range map[string]*float64{"cpu_allocation_ratio": in.CPUAllocationRatio, "ram_allocation_ratio": in.RAMAllocationRatio, "disk_allocation_ratio": in.DiskAllocationRatio} {
		if ratio != nil && *ratio <= 0 {
			return nil, attrErr(attr, fmt.Errorf("%s must be positive", attr))
		}
	}
	if in.CPUAllocationRatio != nil {
		h.cpuRatio = *in.CPUAllocationRatio
	}
	if in.RAMAllocationRatio != nil {
		h.ramRatio = *in.RAMAllocationRatio
	}
	if in.DiskAllocationRatio != nil {
		h.diskRatio = *in.DiskAllocationRatio
	}
	switch in.CapacityFrom {
	case "", "hypervisors", "servers":
	default:
		return nil, attrErr("capacity_from", fmt.Errorf("capacity_from %q is not hypervisors or servers", in.CapacityFrom))
	}
	seen := map[string]bool{}
	for i, sh := range in.Hosts {
		path := cty.GetAttrPath("hosts").IndexInt(i)
		switch {
		case sh.Name == "":
			return nil, sdk.AttributePathError(path.GetAttr("name"), errors.New("a host needs a name"))
		case seen[strings.ToLower(sh.Name)]:
			return nil, sdk.AttributePathError(path.GetAttr("name"), fmt.Errorf("host %q is listed twice", sh.Name))
		case sh.VCPUs != nil && *sh.VCPUs < 0, sh.MemoryMB != nil && *sh.MemoryMB < 0, sh.DiskGB != nil && *sh.DiskGB < 0:
			return nil, sdk.AttributePathError(path, errors.New("vcpus, memory_mb and disk_gb cannot be negative"))
		}
		seen[strings.ToLower(sh.Name)] = true
	}
	return h, nil
}

func (c *cloud) hostEvacuate(ctx context.Context, in HostEvacuateIn, r sdk.Reporter) (HostEvacuateOut, error) {
	h, err := c.validateHostEvacuate(in)
	if err != nil {
		return HostEvacuateOut{}, err
	}
	if h.s, err = c.session(ctx); err != nil {
		return HostEvacuateOut{}, err
	}
	h.r = r
	out, err := h.run(ctx)
	if err != nil {
		return HostEvacuateOut{}, err
	}
	if in.FailOnError && out.Failed > 0 {
		return HostEvacuateOut{}, fmt.Errorf("%s: %s", out.Status, out.Message)
	}
	return out, nil
}

// run is the recovery: prepare the failed host, take stock, place, move.
// Errors before any evacuation started (the failed host unknown, the API
// failing) end it with an error; once moves are planned, every instance
// ends in vm_moves, succeeded or failed with its reason.
func (h *hostEvacuate) run(ctx context.Context) (HostEvacuateOut, error) {
	in := h.in
	h.r.Log(sdk.LevelInfo, fmt.Sprintf("recovery of %s: %s (method %s, parallelism %d)", in.FailedHost, RecoveryNew, h.method, h.parallel))
	if boolOr(in.ForceDown, true) {
		reason := in.DisabledReason
		if reason == "" {
			reason = "runbook host_evacuate: host failure"
		}
		if _, err := h.s.setService(ctx, h.r, in.FailedHost, "nova-compute", serviceChange{forceDown: ptr(true), disable: true, reason: reason}); err != nil {
			if isNotFoundInput(err) {
				return HostEvacuateOut{}, attrErr("failed_host", err)
			}
			return HostEvacuateOut{}, err
		}
	}
	instances, err := h.instances(ctx)
	if err != nil {
		return HostEvacuateOut{}, err
	}
	targets, err := h.targets(ctx)
	if err != nil {
		return HostEvacuateOut{}, err
	}
	plan, err := Place(h.method, targets, instances, PlaceOptions{Spread: in.Spread})
	if err != nil {
		return HostEvacuateOut{}, attrErr("recovery_method", err)
	}
	h.enableReserved(ctx, &plan)

	out := HostEvacuateOut{Status: RecoveryRunning, Total: len(instances), VMMoves: make([]VMMove, len(instances)), Targets: targetsOut(plan)}
	var todo []int
	for i, p := range plan.Placements {
		m := VMMove{Server: p.Instance.ID, Name: p.Instance.Name, SourceHost: in.FailedHost, DestinationHost: p.Host, Status: MovePending}
		if p.Host == "" {
			m.Status, m.Message, m.Ended = MoveFailed, "not placed: "+p.Reason, h.stamp()
		} else {
			todo = append(todo, i)
		}
		out.VMMoves[i] = m
	}
	h.r.Log(sdk.LevelInfo, fmt.Sprintf("recovery of %s: %s; %d instances, %d placed (%s), %d not placed",
		in.FailedHost, RecoveryRunning, len(instances), len(todo), planSummary(plan), len(instances)-len(todo)))

	var mu sync.Mutex
	done := int64(0)
	total := int64(len(instances))
	report := func(m VMMove, took time.Duration) {
		mu.Lock()
		done++
		d := done
		mu.Unlock()
		h.r.Log(moveLevel(m), moveLine(m, took))
		h.r.Progress(d, total, "instances")
	}
	for _, m := range out.VMMoves {
		if m.Status == MoveFailed {
			report(m, 0)
		}
	}
	if total > 0 && len(todo) == 0 {
		h.r.Progress(done, total, "instances")
	}
	byID := map[string]*servers.Server{}
	for i := range h.found {
		byID[h.found[i].ID] = &h.found[i]
	}
	runParallel(ctx, len(todo), h.parallel, func(ctx context.Context, k int) {
		m := &out.VMMoves[todo[k]]
		took := h.move(ctx, m, byID[m.Server])
		report(*m, took)
	})

	for _, m := range out.VMMoves {
		if m.Status == MoveSucceeded {
			out.Succeeded++
		} else {
			out.Failed++
		}
	}
	switch {
	case out.Failed == 0:
		out.Status = RecoveryFinished
	case out.Succeeded == 0:
		out.Status = RecoveryFailed
	default:
		out.Status = RecoveryError
	}
	out.Message = fmt.Sprintf("%d of %d instances recovered from %s", out.Succeeded, out.Total, in.FailedHost)
	if out.Failed > 0 {
		out.Message += fmt.Sprintf("; %d failed: %s", out.Failed, failedSummary(out.VMMoves))
	}
	level := sdk.LevelInfo
	if out.Failed > 0 {
		level = sdk.LevelError
	}
	h.r.Log(level, fmt.Sprintf("recovery of %s: %s; %s", in.FailedHost, out.Status, out.Message))
	if ctx.Err() != nil {
		// Interrupted: the step fails (resume asks Check, which picks up
		// what is left on the host); the log holds every move so far.
		return HostEvacuateOut{}, fmt.Errorf("recovery of %s interrupted: %w", in.FailedHost, context.Cause(ctx))
	}
	return out, nil
}

// timeLayout is RFC 3339 with milliseconds: moves in a drill take less
// than a second.
const timeLayout = "2006-01-02T15:04:05.000Z07:00"

func (h *hostEvacuate) stamp() string { return h.now().UTC().Format(timeLayout) }

// move evacuates one instance and waits for it, filling in the move; it
// returns how long the move took.
func (h *hostEvacuate) move(ctx context.Context, m *VMMove, before *servers.Server) time.Duration {
	if err := ctx.Err(); err != nil {
		m.Status, m.Ended, m.Message = MoveFailed, h.stamp(), "not started: "+context.Cause(ctx).Error()
		return 0
	}
	start := h.now()
	m.Status, m.Started = MoveRunning, start.UTC().Format(timeLayout)
	err := h.postEvacuate(ctx, before, evacuateOpts{Host: m.DestinationHost, OnSharedStorage: h.in.OnSharedStorage})
	if err == nil {
		posted := time.Now()
		res := h.c.waitEvacuated(ctx, h.s, before, h.pace(), h.timeout)
		err = res.err
		if res.srv != nil && res.srv.Host != before.Host && res.srv.Host != "" {
			m.DestinationHost = res.srv.Host
		}
		if err == nil {
			h.observe(time.Since(posted))
		}
	}
	end := h.now()
	m.Ended = end.UTC().Format(timeLayout)
	m.Status = MoveSucceeded
	if err != nil {
		m.Status, m.Message = MoveFailed, err.Error()
	}
	return end.Sub(start).Round(time.Millisecond)
}

// pace spaces the reads of an evacuated server. Evacuations of one host
// take much the same time, so once one has been seen to take d (hint),
// the next are first read at d, then every eighth of the poll interval
// for one poll interval, then every poll interval: a move is seen done
// within a few milliseconds of its end, not up to a poll interval later,
// and no read is spent before d. Until a first evacuation ends, reads come
// every poll interval, the first after one.
func (h *hostEvacuate) pace() func(n int, elapsed time.Duration) time.Duration {
	interval := h.c.pollInterval()
	h.hintMu.Lock()
	hint := h.hint
	h.hintMu.Unlock()
	return func(n int, elapsed time.Duration) time.Duration {
		switch {
		case hint == 0:
			return interval
		case n == 0:
			return hint
		case elapsed < hint+interval:
			return max(interval/8, time.Millisecond)
		}
		return interval
	}
}

// observe records how long a successful evacuation took.
func (h *hostEvacuate) observe(d time.Duration) {
	h.hintMu.Lock()
	defer h.hintMu.Unlock()
	if h.hint == 0 || d < h.hint {
		h.hint = d
	}
}

// postEvacuate asks Nova to evacuate, trying again on a retryable refusal
// (5xx, no answer, a busy 409) unless the first request took effect after
// all: the server shows a task, or another host.
func (h *hostEvacuate) postEvacuate(ctx context.Context, before *servers.Server, o evacuateOpts) error {
	var err error
	for attempt := 1; ; attempt++ {
		if err = h.s.postEvacuate(ctx, before.ID, o); err == nil || !isRetryable(err) || attempt == evacuatePostAttempts {
			return err
		}
		if cur, gerr := h.s.getServer(ctx, before.ID); gerr == nil && cur != nil && (cur.TaskState != "" || cur.Host != before.Host) {
			return nil
		}
		t := time.NewTimer(h.c.pollInterval())
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// instances lists what runs on the failed host and sizes it; instances
// that cannot be evacuated are kept, marked Unplaceable with the reason.
func (h *hostEvacuate) instances(ctx context.Context) ([]Instance, error) {
	all, err := h.s.listServers(ctx, servers.ListOpts{Host: h.in.FailedHost, AllTenants: true})
	if err != nil {
		return nil, err
	}
	var list []servers.Server
	for _, srv := range all {
		if srv.Host != "" && !sameHost(srv.Host, h.in.FailedHost) {
			continue // a cloud that ignores the host filter
		}
		if h.in.HAEnabledOnly && !strings.EqualFold(srv.Metadata["HA_Enabled"], "true") {
			continue
		}
		list = append(list, srv)
	}
	sort.Slice(list, func(i, j int) bool {
		if list[i].Name != list[j].Name {
			return list[i].Name < list[j].Name
		}
		return list[i].ID < list[j].ID
	})
	h.found = list
	out := make([]Instance, len(list))
	for i := range list {
		srv := &list[i]
		in := Instance{ID: srv.ID, Name: srv.Name}
		sz, unknown, err := h.sizeOf(ctx, srv)
		if err != nil {
			return nil, err
		}
		in.VCPUs, in.RAMMB, in.DiskGB, in.Unplaceable = sz.vcpus, sz.ram, sz.disk, unknown
		if in.Unplaceable == "" {
			in.Unplaceable = evacuable(srv)
		}
		out[i] = in
	}
	return out, nil
}

// evacuable says why Nova would refuse to evacuate the server (409), or
// "": it takes vm_state active, stopped or error with no task running.
func evacuable(srv *servers.Server) string {
	switch strings.ToLower(srv.VmState) {
	case "active", "stopped", "error", "":
	default:
		return fmt.Sprintf("cannot be evacuated in vm_state %s (Nova evacuates active, stopped and error instances)", srv.VmState)
	}
	if srv.TaskState != "" {
		return fmt.Sprintf("cannot be evacuated while in task_state %s", srv.TaskState)
	}
	return ""
}

// size is what a server takes on a host.
type size struct{ vcpus, ram, disk int }

// sizeOf is a server's vCPUs, RAM and disk: its embedded flavor
// (microversion 2.47 and later), else its flavor looked up by id (every
// flavor is read once, the first time one is needed). A flavor gone from
// Nova leaves the size unknown (the reason), and the instance is not
// placed.
func (h *hostEvacuate) sizeOf(ctx context.Context, srv *servers.Server) (size, string, error) {
	ref, v, r := flavorOf(srv)
	bfv := bootsFromVolume(srv)
	if v > 0 || r > 0 {
		return size{v, r, diskGB(intOf(srv.Flavor["disk"]), intOf(srv.Flavor["ephemeral"]), intOf(srv.Flavor["swap"]), bfv)}, "", nil
	}
	if h.flavors == nil {
		all, err := h.s.listFlavors(ctx)
		if err != nil {
			return size{}, "", err
		}
		h.flavors = map[string]flavors.Flavor{}
		for _, f := range all {
			h.flavors[f.ID] = f
		}
	}
	if f, ok := h.flavors[ref]; ok {
		return size{f.VCPUs, f.RAM, diskGB(f.Disk, f.Ephemeral, f.Swap, bfv)}, "", nil
	}
	return size{}, fmt.Sprintf("its flavor %q is unknown, so is its size", ref), nil
}

// targets builds the candidates: the segment's hosts (or every compute
// host) but the failed one, with their free capacity and why any cannot
// take instances.
func (h *hostEvacuate) targets(ctx context.Context) ([]Target, error) {
	svcs, err := h.s.listServices(ctx, "", "nova-compute")
	if err != nil {
		return nil, err
	}
	hvs, err := h.s.listHypervisors(ctx)
	if err != nil {
		return nil, err
	}
	segment := h.in.Hosts
	if len(segment) == 0 {
		for _, svc := range svcs {
			segment = append(segment, SegmentHost{Name: svc.Host})
		}
		sort.Slice(segment, func(i, j int) bool { return segment[i].Name < segment[j].Name })
	}
	var out []Target
	h.disabled = map[string]bool{}
	for _, sh := range segment {
		if sameHost(sh.Name, h.in.FailedHost) {
			continue
		}
		t := Target{Name: sh.Name, Reserved: boolOr(sh.Reserved, false), Priority: sh.Priority}
		svc := matchService(svcs, sh.Name)
		hv := matchHypervisor(hvs, sh.Name)
		switch {
		case svc == nil:
			t.Unusable = "no nova-compute service on this host"
		case svc.ForcedDown:
			t.Unusable = "its compute service is forced down"
		case svc.State == "down":
			t.Unusable = "its compute service is down"
		case svc.Status == "disabled" && !t.Reserved:
			t.Unusable = "its compute service is disabled"
			if svc.DisabledReason != "" {
				t.Unusable += " (" + svc.DisabledReason + ")"
			}
		}
		if svc != nil {
			t.Name = svc.Host // evacuate to the name Nova knows
			h.disabled[t.Name] = svc.Status == "disabled"
		}
		// Totals: the host's vcpus and memory_mb inputs, else the
		// hypervisor's. Used: the hypervisor's, unless capacity_from is
		// servers or the hypervisor reports no usage.
		hvStats := hv != nil && (hv.VCPUs > 0 || hv.MemoryMB > 0)
		vcpus, mem, known := 0, 0, false
		if hvStats {
			vcpus, mem, known = hv.VCPUs, hv.MemoryMB, true
		}
		if sh.VCPUs != nil && sh.MemoryMB != nil {
			vcpus, mem, known = *sh.VCPUs, *sh.MemoryMB, true
		}
		// Disk: the host's disk_gb input, else the hypervisor's local_gb;
		// a host that reports none is not limited by disk.
		localGB := 0
		if hvStats {
			localGB = hv.LocalGB
		}
		if sh.DiskGB != nil {
			localGB = *sh.DiskGB
		}
		var used size
		switch {
		case !known:
			if t.Unusable == "" {
				t.Unusable = "its capacity is unknown (no hypervisor usage): give vcpus and memory_mb in hosts"
			}
		case hvStats && h.in.CapacityFrom != "servers":
			used = size{hv.VCPUsUsed, hv.MemoryMBUsed, hv.LocalGBUsed}
		case t.Unusable == "":
			if used, err = h.usedByServers(ctx, t.Name); err != nil {
				return nil, err
			}
		}
		if known {
			t.FreeVCPUs, t.FreeRAMMB = FreeCapacity(vcpus, used.vcpus, mem, used.ram, h.cpuRatio, h.ramRatio)
			if localGB > 0 && !h.in.IgnoreDisk {
				t.CheckDisk, t.FreeDiskGB = true, FreeDisk(localGB, used.disk, h.diskRatio)
			}
		}
		out = append(out, t)
	}
	return out, nil
}

// usedByServers sums the flavors of the servers on host.
func (h *hostEvacuate) usedByServers(ctx context.Context, host string) (size, error) {
	all, err := h.s.listServers(ctx, servers.ListOpts{Host: host, AllTenants: true})
	if err != nil {
		return size{}, err
	}
	var used size
	for i := range all {
		if all[i].Host != "" && !sameHost(all[i].Host, host) {
			continue
		}
		sz, _, err := h.sizeOf(ctx, &all[i])
		if err != nil {
			return size{}, err
		}
		used.vcpus, used.ram, used.disk = used.vcpus+sz.vcpus, used.ram+sz.ram, used.disk+sz.disk
	}
	return used, nil
}

// enableReserved enables the disabled compute service of each reserved
// host that was given instances, as Masakari does (a reserved host is
// kept disabled so that the scheduler leaves it empty, and the scheduler
// refuses a disabled target). A host that cannot be enabled fails its
// instances.
func (h *hostEvacuate) enableReserved(ctx context.Context, plan *Plan) {
	for _, hu := range plan.Hosts {
		if !hu.Reserved || hu.Assigned == 0 || !h.disabled[hu.Name] {
			continue
		}
		_, err := h.s.setService(ctx, h.r, hu.Name, "nova-compute", serviceChange{enable: true})
		if err == nil {
			continue
		}
		h.r.Log(sdk.LevelError, fmt.Sprintf("reserved host %s could not be enabled: %v", hu.Name, err))
		for i := range plan.Placements {
			if plan.Placements[i].Host == hu.Name {
				plan.Placements[i].Host = ""
				plan.Placements[i].Reason = fmt.Sprintf("reserved host %s could not be enabled: %v", hu.Name, err)
			}
		}
	}
}

func matchService(svcs []services.Service, host string) *services.Service {
	for i := range svcs {
		if svcs[i].Host == host {
			return &svcs[i]
		}
	}
	for i := range svcs {
		if sameHost(svcs[i].Host, host) {
			return &svcs[i]
		}
	}
	return nil
}

func matchHypervisor(hvs []hypervisors.Hypervisor, host string) *hypervisors.Hypervisor {
	for i := range hvs {
		if hvs[i].Service.Host == host || hvs[i].HypervisorHostname == host {
			return &hvs[i]
		}
	}
	for i := range hvs {
		if sameHost(hvs[i].Service.Host, host) || sameHost(hvs[i].HypervisorHostname, host) {
			return &hvs[i]
		}
	}
	return nil
}

func targetsOut(plan Plan) []TargetOut {
	out := []TargetOut{}
	for _, hu := range plan.Hosts {
		t := TargetOut{
			Name: hu.Name, Reserved: hu.Reserved, Priority: hu.Priority, Usable: hu.Unusable == "", Reason: hu.Unusable,
			FreeVCPUs: hu.FreeVCPUs, FreeRAMMB: hu.FreeRAMMB, Assigned: hu.Assigned,
			FreeVCPUsAfter: hu.FreeVCPUsAfter, FreeRAMMBAfter: hu.FreeRAMMBAfter,
		}
		if hu.CheckDisk {
			t.FreeDiskGB, t.FreeDiskGBAfter = ptr(hu.FreeDiskGB), ptr(hu.FreeDiskGBAfter)
		}
		out = append(out, t)
	}
	return out
}

func planSummary(plan Plan) string {
	var parts []string
	for _, hu := range plan.Hosts {
		if hu.Assigned > 0 {
			l := fmt.Sprintf("%s %d", hu.Name, hu.Assigned)
			if hu.Reserved {
				l += " (reserved)"
			}
			parts = append(parts, l)
		}
	}
	if len(parts) == 0 {
		return "no target"
	}
	return strings.Join(parts, ", ")
}

func moveLevel(m VMMove) sdk.Level {
	if m.Status == MoveFailed {
		return sdk.LevelError
	}
	return sdk.LevelInfo
}

// moveLine is the log line of a finished move (that took took): one per
// VM, a row of the VM moves table.
func moveLine(m VMMove, took time.Duration) string {
	name := m.Name
	if name == "" {
		name = m.Server
	}
	dest := m.DestinationHost
	if dest == "" {
		dest = "-"
	}
	line := fmt.Sprintf("vm %s (%s) %s -> %s: %s", name, m.Server, m.SourceHost, dest, m.Status)
	if m.Started != "" {
		line += fmt.Sprintf(" in %s", took)
	}
	if m.Message != "" {
		line += ": " + m.Message
	}
	return line
}

func failedSummary(moves []VMMove) string {
	var names []string
	for _, m := range moves {
		if m.Status != MoveSucceeded {
			n := m.Name
			if n == "" {
				n = m.Server
			}
			names = append(names, n)
		}
	}
	if len(names) > 10 {
		names = append(names[:10], fmt.Sprintf("and %d more", len(names)-10))
	}
	return strings.Join(names, ", ")
}

// checkHostEvacuate answers Check: an interrupted recovery is picked up by
// running it again (NotApplied), which evacuates what is still on the
// failed host; but while an instance there is in the middle of a task (an
// evacuation the interrupted attempt started), the operator decides
// (Unknown).
func (c *cloud) checkHostEvacuate(ctx context.Context, in HostEvacuateIn, _ time.Time) (sdk.CheckResult, HostEvacuateOut, error) {
	s, err := c.session(ctx)
	if err != nil {
		return sdk.Unknown, HostEvacuateOut{}, err
	}
	all, err := s.listServers(ctx, servers.ListOpts{Host: in.FailedHost, AllTenants: true})
	if err != nil {
		return sdk.Unknown, HostEvacuateOut{}, err
	}
	for _, srv := range all {
		if sameHost(srv.Host, in.FailedHost) && srv.TaskState != "" {
			return sdk.Unknown, HostEvacuateOut{}, nil
		}
	}
	return sdk.NotApplied, HostEvacuateOut{}, nil
}
