package openstack

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sort"
	"strings"
	"time"
)

// The simulated cloud. Everything below is guarded by Server.mu.

type project struct {
	id, name, domainID, description string
	sgID                            string // the project's "default" security group
}

type user struct {
	id, name, password, domainID string
	defaultProject               string            // project id
	roles                        map[string]string // project id -> role name
	enabled                      bool
}

type appCred struct {
	id, name, secret  string
	userID, projectID string
	roles             []string
	expires           time.Time
}

type token struct {
	id        string
	userID    string
	projectID string // "" for an unscoped or domain-scoped token
	domainID  string // domain scope
	roles     []string
	methods   []string
	issued    time.Time
	expires   time.Time
	appCred   *appCred
	auditID   string
	revoked   bool
}

func (t *token) isAdmin() bool {
	for _, r := range t.roles {
		if r == "admin" {
			return true
		}
	}
	return false
}

// host is a compute node; its nova-compute service is svc.
type host struct {
	name                          string
	vcpus, memoryMB, localGB      int
	reservedMB, reservedCPUs      int
	cpuRatio, ramRatio, diskRatio float64
	zone                          string
	hostIP, hypervisorHostname    string
	hypervisorType                string
	hypervisorVersion             int
	cpuInfo                       json.RawMessage
	hypID                         int
	hypUUID                       string
	svc                           *service
}

// service is a Nova service. heartbeat is whether the service reports in
// (the host is alive); forcedDown is the operator's flag. Nova's
// service_is_up is heartbeat && !forcedDown.
type service struct {
	id             int
	uuid           string
	binary, host   string
	zone           string
	disabled       bool
	disabledReason string
	forcedDown     bool
	heartbeat      bool
	updatedAt      time.Time // last heartbeat (frozen while the host is down)
	node           *host     // nova-compute only
}

func (sv *service) up() bool { return sv.heartbeat && !sv.forcedDown }

type flavor struct {
	id, name                          string
	vcpus, ram, disk, ephemeral, swap int
	isPublic                          bool
	description                       string
	extraSpecs                        map[string]string
	rxtx                              float64
}

type image struct {
	id, name, status            string
	minDisk, minRAM             int
	size                        int64
	diskFormat, containerFormat string
	visibility                  string
	owner                       string
	created                     time.Time
}

type network struct {
	id, name, projectID string
	external, shared    bool
	mtu                 int
	portSecurity        bool
	subnets             []*subnet
	routerID            string
	created, updated    time.Time
	revision            int
}

type subnet struct {
	id, name, networkID, projectID string
	prefix                         netip.Prefix
	gateway                        netip.Addr
	created                        time.Time
}

type fixedIP struct {
	subnetID, ip string
}

type port struct {
	id, name, networkID, projectID string
	mac                            string
	deviceID, deviceOwner          string
	status                         string
	description                    string
	adminUp                        bool
	fixedIPs                       []fixedIP
	securityGroups                 []string
	bindingHost                    string
	created, updated               time.Time
	revision                       int
	novaCreated                    bool // Nova made it for a server: deleted with the server
}

type floatingIP struct {
	id, address, networkID, projectID string
	portID, fixedIP                   string
	status, routerID, description     string
	created, updated                  time.Time
	revision                          int
}

type fault struct {
	code    int
	message string
	details string
	created time.Time
}

type server struct {
	id, name, projectID, userID string
	flavor                      flavor // as booted
	imageID                     string
	host, node                  string
	az                          string
	vmState, taskState          string
	power                       int
	created, updated            time.Time
	launched, terminated        time.Time
	keyName                     string
	metadata                    map[string]string
	userData                    string
	instanceName                string
	accessIPv4, accessIPv6      string
	fault                       *fault
	locked                      bool
	description                 *string
	adminPass                   string
	reservationID               string
	evacuateTime                time.Duration
	// claim is a host whose resources this server holds besides its own
	// (the destination of an evacuation in progress).
	claim string
	// actions is the os-instance-actions history.
	actions []*instanceAction
}

// migration is a Nova migration record (only evacuations are simulated).
// Status goes accepted -> done (or error); done becomes completed when the
// source compute service comes back, as nova-compute does at startup.
type migration struct {
	id                   int
	uuid                 string
	instanceUUID         string
	source, dest         string
	sourceNode, destNode string
	status               string
	created, updated     time.Time
	flavorID             string
}

type instanceAction struct {
	action, requestID, userID, projectID string
	message                              string
	start, updated                       time.Time
	events                               []*actionEvent
}

type actionEvent struct {
	event, result, host string
	start, finish       time.Time
	traceback           string
}

// Power states (nova/compute/power_state.py).
const (
	powerNoState  = 0
	powerRunning  = 1
	powerShutdown = 4
)

// vm states and task states (nova/compute/vm_states.py, task_states.py).
const (
	vmActive   = "active"
	vmBuilding = "building"
	vmStopped  = "stopped"
	vmError    = "error"
	vmDeleted  = "deleted"

	taskScheduling   = "scheduling"
	taskSpawning     = "spawning"
	taskPoweringOff  = "powering-off"
	taskPoweringOn   = "powering-on"
	taskRebooting    = "rebooting"
	taskRebootHard   = "rebooting_hard"
	taskRebuilding   = "rebuilding"
	taskDeleting     = "deleting"
	taskNone         = ""
	deviceOwnerNova  = "compute:"
	portStatusActive = "ACTIVE"
	portStatusDown   = "DOWN"
)

// status is Nova's _STATE_MAP (nova/api/openstack/common.py) for the states
// the simulator uses.
func (s *server) status() string {
	switch s.vmState {
	case vmBuilding:
		return "BUILD"
	case vmActive:
		switch s.taskState {
		case taskRebooting:
			return "REBOOT"
		case taskRebootHard:
			return "HARD_REBOOT"
		case taskRebuilding:
			return "REBUILD"
		}
		return "ACTIVE"
	case vmStopped:
		if s.taskState == taskRebuilding {
			return "REBUILD"
		}
		return "SHUTOFF"
	case vmError:
		if s.taskState == taskRebuilding {
			return "REBUILD"
		}
		return "ERROR"
	case vmDeleted:
		return "DELETED"
	}
	return "UNKNOWN"
}

// hostID is Nova's _get_host_id: sha224(project_id + host).
func hostID(projectID, host string) string {
	if host == "" {
		return ""
	}
	sum := sha256.Sum224([]byte(projectID + host))
	return hex.EncodeToString(sum[:])
}

// task is an asynchronous transition due at `at`. When host is set, it only
// happens while that compute host is alive (its service heartbeats): work
// cast to a dead nova-compute waits for it, as in Nova.
type task struct {
	seq     int
	at      time.Time
	host    string
	waiting bool
	done    bool
	srv     *server
	run     func(at time.Time)
}

// state is everything the cloud knows.
type state struct {
	region           string
	maxMV            microversion
	instancePassword bool // [api] enable_instance_password

	domains  map[string]string // id -> name
	projects []*project
	users    []*user
	roleIDs  map[string]string // name -> id
	appCreds []*appCred
	tokens   map[string]*token

	hosts    []*host
	services []*service
	flavors  []*flavor
	images   []*image
	networks []*network
	subnets  []*subnet
	ports    []*port
	fips     []*floatingIP
	servers  []*server

	tasks   []*task
	taskSeq int

	catalog    []catalogService
	migrations []*migration

	instanceSeq int
	serviceSeq  int
	ids         *rand.Rand
}

// world building -----------------------------------------------------------

// buildWorld turns an estate into a state, checking every reference.
func buildWorld(e *Estate, now time.Time, seed uint64) (*state, error) {
	e = e.withDefaults()
	st := &state{
		region:           e.Region,
		domains:          map[string]string{"default": "Default"},
		roleIDs:          map[string]string{},
		tokens:           map[string]*token{},
		ids:              rand.New(rand.NewPCG(seed, 0x6f70656e737461)),
		instancePassword: true,
	}
	mv := defaultMaxMicroversion
	if e.Nova != nil {
		if e.Nova.MaxMicroversion != "" {
			v, err := parseMicroversion(e.Nova.MaxMicroversion)
			if err != nil || v.less(minMicroversion) || highestMicroversion.less(v) {
				return nil, fmt.Errorf("estate: nova.max_microversion %q: want 2.1 .. %s", e.Nova.MaxMicroversion, highestMicroversion)
			}
			mv = v
		}
		if e.Nova.EnableInstancePassword != nil {
			st.instancePassword = *e.Nova.EnableInstancePassword
		}
	}
	st.maxMV = mv
	at := func(v string, def time.Time) time.Time {
		if v == "" {
			return def
		}
		t, err := parseEstateTime(v, now)
		if err != nil {
			return def
		}
		return t
	}
	timeErr := func(what string, vals ...string) error {
		for _, v := range vals {
			if err := checkEstateTime(v, what); err != nil {
				return err
			}
		}
		return nil
	}
	domainID := func(name string) string {
		if name == "" || strings.EqualFold(name, "default") {
			return "default"
		}
		for id, n := range st.domains {
			if n == name || id == name {
				return id
			}
		}
		id := strings.ToLower(name)
		st.domains[id] = name
		return id
	}
	for name, id := range e.RoleIDs {
		st.roleIDs[name] = id
	}
	for _, r := range []string{"admin", "member", "reader"} {
		if st.roleIDs[r] == "" {
			st.roleIDs[r] = st.hexID()
		}
	}
	st.initCatalog()

	// Keystone.
	projects := names{}
	for i, p := range e.Projects {
		if p.Name == "" {
			return nil, fmt.Errorf("estate: projects[%d]: name is empty", i)
		}
		if _, dup := projects[p.Name]; dup {
			return nil, fmt.Errorf("estate: projects[%d]: duplicate name %q", i, p.Name)
		}
		np := &project{id: orDefault(p.ID, st.hexID()), name: p.Name, domainID: domainID(p.Domain), description: p.Description, sgID: st.uuid()}
		projects.add(np.id, np.name)
		st.projects = append(st.projects, np)
	}
	if len(st.projects) == 0 {
		return nil, fmt.Errorf("estate: projects is empty: a cloud needs at least one project")
	}
	firstProject := st.projects[0].id
	projectOf := func(ref, what string) (string, error) {
		if ref == "" {
			return firstProject, nil
		}
		id, ok := projects[ref]
		if !ok {
			return "", fmt.Errorf("estate: %s: project %q is not in the estate", what, ref)
		}
		return id, nil
	}
	usersByName := names{}
	for i, u := range e.Users {
		if u.Name == "" {
			return nil, fmt.Errorf("estate: users[%d]: name is empty", i)
		}
		if _, dup := usersByName[u.Name]; dup {
			return nil, fmt.Errorf("estate: users[%d]: duplicate name %q", i, u.Name)
		}
		nu := &user{id: orDefault(u.ID, st.hexID()), name: u.Name, password: u.Password, domainID: domainID(u.Domain), roles: map[string]string{}, enabled: u.Enabled == nil || *u.Enabled}
		for p, role := range u.Roles {
			pid, err := projectOf(p, fmt.Sprintf("users[%d].roles", i))
			if err != nil {
				return nil, err
			}
			if role == "" {
				role = "member"
			}
			if st.roleIDs[role] == "" {
				st.roleIDs[role] = st.hexID()
			}
			nu.roles[pid] = role
		}
		if u.DefaultProject != "" {
			pid, err := projectOf(u.DefaultProject, fmt.Sprintf("users[%d].default_project", i))
			if err != nil {
				return nil, err
			}
			nu.defaultProject = pid
		}
		usersByName.add(nu.id, nu.name)
		st.users = append(st.users, nu)
	}
	for i, a := range e.ApplicationCredentials {
		what := fmt.Sprintf("application_credentials[%d]", i)
		if a.Name == "" || a.Secret == "" {
			return nil, fmt.Errorf("estate: %s: name and secret are required", what)
		}
		uid, ok := usersByName[a.User]
		if !ok {
			return nil, fmt.Errorf("estate: %s: user %q is not in the estate", what, a.User)
		}
		u := st.user(uid)
		pid := u.defaultProject
		if a.Project != "" {
			var err error
			if pid, err = projectOf(a.Project, what); err != nil {
				return nil, err
			}
		}
		if pid == "" {
			return nil, fmt.Errorf("estate: %s: no project (the user has no default project)", what)
		}
		roles := a.Roles
		if len(roles) == 0 {
			if r := u.roles[pid]; r != "" {
				roles = []string{r}
			}
		}
		if len(roles) == 0 {
			return nil, fmt.Errorf("estate: %s: user %q has no role on the project", what, a.User)
		}
		if err := timeErr(what+".expires_at", a.ExpiresAt); err != nil {
			return nil, err
		}
		st.appCreds = append(st.appCreds, &appCred{
			id: orDefault(a.ID, st.hexID()), name: a.Name, secret: a.Secret, userID: uid, projectID: pid,
			roles: roles, expires: at(a.ExpiresAt, time.Time{}),
		})
	}
	usersFirst := ""
	if len(st.users) > 0 {
		usersFirst = st.users[0].id
	}

	// Nova services and hosts.
	seenHosts := map[string]bool{}
	for i, h := range e.Hosts {
		what := fmt.Sprintf("hosts[%d]", i)
		if h.Name == "" {
			return nil, fmt.Errorf("estate: %s: name is empty", what)
		}
		if seenHosts[h.Name] {
			return nil, fmt.Errorf("estate: %s: duplicate host %q", what, h.Name)
		}
		seenHosts[h.Name] = true
		if h.VCPUs < 0 || h.MemoryMB < 0 || h.LocalGB < 0 {
			return nil, fmt.Errorf("estate: %s: negative capacity", what)
		}
		if err := checkServiceStatus(what, h.Status, h.State); err != nil {
			return nil, err
		}
		if err := timeErr(what+".updated_at", h.UpdatedAt); err != nil {
			return nil, err
		}
		if len(h.CPUInfo) > 0 && !json.Valid(h.CPUInfo) {
			return nil, fmt.Errorf("estate: %s.cpu_info is not JSON", what)
		}
		reserved := 512
		if h.ReservedHostMemoryMB != nil {
			reserved = *h.ReservedHostMemoryMB
		}
		nh := &host{
			name: h.Name, vcpus: orInt(h.VCPUs, 32), memoryMB: orInt(h.MemoryMB, 131072), localGB: orInt(h.LocalGB, 4096),
			reservedMB: reserved, reservedCPUs: h.ReservedHostCPUs,
			cpuRatio: orFloat(h.CPUAllocationRatio, 4.0), ramRatio: orFloat(h.RAMAllocationRatio, 1.0), diskRatio: orFloat(h.DiskAllocationRatio, 1.0),
			zone: orDefault(h.Zone, "nova"), hostIP: orDefault(h.HostIP, fmt.Sprintf("192.168.100.%d", 11+i)),
			hypervisorHostname: orDefault(h.HypervisorHostname, h.Name), hypervisorType: orDefault(h.HypervisorType, "QEMU"),
			hypervisorVersion: orInt(h.HypervisorVersion, 8002000), cpuInfo: h.CPUInfo,
			hypID: orInt(h.HypervisorID, i+1), hypUUID: orDefault(h.HypervisorUUID, st.uuid()),
		}
		if len(nh.cpuInfo) == 0 {
			nh.cpuInfo = json.RawMessage(`{"arch": "x86_64", "model": "Broadwell-IBRS", "vendor": "Intel", "topology": {"cells": 1, "sockets": 1, "cores": 16, "threads": 2}, "features": ["pge", "clflush", "sse4.2", "vmx"]}`)
		}
		sv := &service{
			id: h.ServiceID, uuid: orDefault(h.ServiceUUID, st.uuid()), binary: "nova-compute", host: h.Name, zone: nh.zone,
			disabled: h.Status == "disabled", disabledReason: h.DisabledReason, forcedDown: h.ForcedDown,
			heartbeat: h.State != "down", updatedAt: at(h.UpdatedAt, now), node: nh,
		}
		nh.svc = sv
		st.hosts = append(st.hosts, nh)
		st.services = append(st.services, sv)
	}
	for i, s := range e.Services {
		what := fmt.Sprintf("services[%d]", i)
		if s.Binary == "" || s.Host == "" {
			return nil, fmt.Errorf("estate: %s: binary and host are required", what)
		}
		if s.Binary == "nova-compute" {
			return nil, fmt.Errorf("estate: %s: nova-compute services come from hosts", what)
		}
		if err := checkServiceStatus(what, s.Status, s.State); err != nil {
			return nil, err
		}
		if err := timeErr(what+".updated_at", s.UpdatedAt); err != nil {
			return nil, err
		}
		st.services = append(st.services, &service{
			id: s.ID, uuid: orDefault(s.UUID, st.uuid()), binary: s.Binary, host: s.Host, zone: orDefault(s.Zone, "internal"),
			disabled: s.Status == "disabled", disabledReason: s.DisabledReason, forcedDown: s.ForcedDown,
			heartbeat: s.State != "down", updatedAt: at(s.UpdatedAt, now),
		})
	}
	// Integer service ids: the estate's, else in order after the largest.
	used := map[int]bool{}
	for _, sv := range st.services {
		if sv.id != 0 {
			if used[sv.id] {
				return nil, fmt.Errorf("estate: duplicate service id %d", sv.id)
			}
			used[sv.id] = true
		}
	}
	next := 1
	for _, sv := range st.services {
		if sv.id == 0 {
			for used[next] {
				next++
			}
			sv.id = next
			used[next] = true
		}
		if sv.id > st.serviceSeq {
			st.serviceSeq = sv.id
		}
	}
	sort.SliceStable(st.services, func(i, j int) bool { return st.services[i].id < st.services[j].id })

	// Flavors and images.
	flavors := names{}
	for i, f := range e.Flavors {
		if f.ID == "" || f.Name == "" {
			return nil, fmt.Errorf("estate: flavors[%d]: id and name are required", i)
		}
		if _, dup := flavors[f.ID]; dup {
			return nil, fmt.Errorf("estate: flavors[%d]: duplicate id %q", i, f.ID)
		}
		if f.VCPUs <= 0 || f.RAM <= 0 || f.Disk < 0 {
			return nil, fmt.Errorf("estate: flavors[%d]: vcpus and ram must be positive", i)
		}
		flavors.add(f.ID, f.Name)
		st.flavors = append(st.flavors, &flavor{
			id: f.ID, name: f.Name, vcpus: f.VCPUs, ram: f.RAM, disk: f.Disk, ephemeral: f.Ephemeral, swap: f.Swap,
			isPublic: f.IsPublic == nil || *f.IsPublic, description: f.Description, extraSpecs: f.ExtraSpecs, rxtx: orFloat(f.RxTxFactor, 1.0),
		})
	}
	images := names{}
	for i, im := range e.Images {
		if im.Name == "" {
			return nil, fmt.Errorf("estate: images[%d]: name is empty", i)
		}
		if err := timeErr(fmt.Sprintf("images[%d].created_at", i), im.CreatedAt); err != nil {
			return nil, err
		}
		ni := &image{
			id: orDefault(im.ID, st.uuid()), name: im.Name, status: orDefault(im.Status, "active"), minDisk: im.MinDisk, minRAM: im.MinRAM,
			size: im.Size, diskFormat: orDefault(im.DiskFormat, "qcow2"), containerFormat: orDefault(im.ContainerFormat, "bare"),
			visibility: orDefault(im.Visibility, "public"), owner: firstProject, created: at(im.CreatedAt, now),
		}
		images.add(ni.id, ni.name)
		st.images = append(st.images, ni)
	}

	// Neutron.
	networks := names{}
	subnets := names{}
	for i, n := range e.Networks {
		what := fmt.Sprintf("networks[%d]", i)
		if n.Name == "" {
			return nil, fmt.Errorf("estate: %s: name is empty", what)
		}
		pid, err := projectOf(n.Project, what)
		if err != nil {
			return nil, err
		}
		if err := timeErr(what, n.CreatedAt, n.UpdatedAt); err != nil {
			return nil, err
		}
		nn := &network{
			id: orDefault(n.ID, st.uuid()), name: n.Name, projectID: pid, external: n.External, shared: n.Shared,
			mtu: orInt(n.MTU, 1450), portSecurity: n.PortSecurityEnabled == nil || *n.PortSecurityEnabled,
			routerID: n.RouterID, created: at(n.CreatedAt, now),
		}
		nn.updated = at(n.UpdatedAt, nn.created)
		if nn.external && nn.routerID == "" {
			nn.routerID = st.uuid()
		}
		subs := n.Subnets
		if n.CIDR != "" {
			subs = append([]EstateSubnet{{ID: n.SubnetID, Name: n.Name + "-subnet", CIDR: n.CIDR}}, subs...)
		}
		for j, sb := range subs {
			pfx, err := netip.ParsePrefix(sb.CIDR)
			if err != nil || !pfx.Addr().Is4() {
				return nil, fmt.Errorf("estate: %s.subnets[%d]: cidr %q is not an IPv4 CIDR", what, j, sb.CIDR)
			}
			pfx = pfx.Masked()
			gw := pfx.Addr().Next()
			if sb.GatewayIP != "" {
				if gw, err = netip.ParseAddr(sb.GatewayIP); err != nil {
					return nil, fmt.Errorf("estate: %s.subnets[%d]: gateway_ip %q", what, j, sb.GatewayIP)
				}
			}
			ns := &subnet{id: orDefault(sb.ID, st.uuid()), name: orDefault(sb.Name, fmt.Sprintf("%s-subnet-%d", n.Name, j+1)), networkID: nn.id, projectID: pid, prefix: pfx, gateway: gw, created: nn.created}
			subnets.add(ns.id, ns.name)
			nn.subnets = append(nn.subnets, ns)
			st.subnets = append(st.subnets, ns)
		}
		networks.add(nn.id, nn.name)
		st.networks = append(st.networks, nn)
	}

	// Servers (before ports, which may name them as their device).
	serverRefs := names{}
	type pendingServer struct {
		srv   *server
		es    EstateServer
		index int
	}
	var pending []pendingServer
	for i, es := range e.Servers {
		what := fmt.Sprintf("servers[%d]", i)
		if es.Name == "" {
			return nil, fmt.Errorf("estate: %s: name is empty", what)
		}
		if es.Count < 0 || es.Count > 100000 {
			return nil, fmt.Errorf("estate: %s: count %d out of range", what, es.Count)
		}
		if es.Count > 1 && es.ID != "" {
			return nil, fmt.Errorf("estate: %s: id cannot be given with count", what)
		}
		if len(st.flavors) == 0 || len(st.images) == 0 {
			return nil, fmt.Errorf("estate: %s: servers need a flavor and an image in the estate", what)
		}
		fid := st.flavors[0].id
		if es.Flavor != "" {
			var ok bool
			if fid, ok = flavors[es.Flavor]; !ok {
				return nil, fmt.Errorf("estate: %s: flavor %q is not in the estate", what, es.Flavor)
			}
		}
		iid := st.images[0].id
		if es.Image != "" {
			var ok bool
			if iid, ok = images[es.Image]; !ok {
				return nil, fmt.Errorf("estate: %s: image %q is not in the estate", what, es.Image)
			}
		}
		pid, err := projectOf(es.Project, what)
		if err != nil {
			return nil, err
		}
		uid := usersFirst
		if es.User != "" {
			var ok bool
			if uid, ok = usersByName[es.User]; !ok {
				return nil, fmt.Errorf("estate: %s: user %q is not in the estate", what, es.User)
			}
		}
		status := strings.ToUpper(orDefault(es.Status, "ACTIVE"))
		switch status {
		case "ACTIVE", "SHUTOFF", "ERROR":
		default:
			return nil, fmt.Errorf("estate: %s: status %q: want ACTIVE, SHUTOFF or ERROR", what, es.Status)
		}
		if es.Host != "" && st.host(es.Host) == nil {
			return nil, fmt.Errorf("estate: %s: host %q is not in the estate", what, es.Host)
		}
		if err := timeErr(what, es.CreatedAt, es.UpdatedAt, es.LaunchedAt); err != nil {
			return nil, err
		}
		var evac time.Duration
		if es.EvacuateTime != "" {
			if evac, err = time.ParseDuration(es.EvacuateTime); err != nil || evac < 0 {
				return nil, fmt.Errorf("estate: %s.evacuate_time %q is not a duration", what, es.EvacuateTime)
			}
		}
		for _, n := range es.Networks {
			if _, ok := networks[n]; !ok {
				return nil, fmt.Errorf("estate: %s: network %q is not in the estate", what, n)
			}
		}
		count := es.Count
		if count == 0 {
			count = 1
		}
		for k := 0; k < count; k++ {
			name := es.Name
			if es.Count > 1 {
				name = fmt.Sprintf("%s-%d", es.Name, k+1)
			}
			fl := *st.flavor(fid)
			created := at(es.CreatedAt, now)
			srv := &server{
				id: orDefault(es.ID, ""), name: name, projectID: pid, userID: uid, flavor: fl, imageID: iid,
				az: es.AvailabilityZone, keyName: es.KeyName, metadata: copyStrings(es.Metadata), userData: es.UserData,
				accessIPv4: es.AccessIPv4, accessIPv6: es.AccessIPv6, locked: es.Locked, created: created,
				evacuateTime: evac, reservationID: "r-" + st.shortID(8),
			}
			if srv.id == "" {
				srv.id = st.uuid()
			}
			if es.Description != "" {
				d := es.Description
				srv.description = &d
			}
			srv.updated = at(es.UpdatedAt, created)
			srv.launched = at(es.LaunchedAt, created)
			st.instanceSeq++
			srv.instanceName = orDefault(es.InstanceName, fmt.Sprintf("instance-%08x", st.instanceSeq))
			switch status {
			case "ACTIVE":
				srv.vmState, srv.power = vmActive, powerRunning
			case "SHUTOFF":
				srv.vmState, srv.power = vmStopped, powerShutdown
			case "ERROR":
				srv.vmState, srv.power = vmError, powerNoState
				srv.fault = &fault{code: 500, message: orDefault(es.Fault, "No valid host was found. There are not enough hosts available."), created: srv.updated}
			}
			if _, dup := serverRefs[srv.id]; dup {
				return nil, fmt.Errorf("estate: %s: duplicate server id %q", what, srv.id)
			}
			serverRefs.add(srv.id, srv.name)
			st.servers = append(st.servers, srv)
			pending = append(pending, pendingServer{srv: srv, es: es, index: i})
		}
	}

	// Ports.
	ports := names{}
	for i, p := range e.Ports {
		what := fmt.Sprintf("ports[%d]", i)
		nid, ok := networks[p.Network]
		if !ok {
			return nil, fmt.Errorf("estate: %s: network %q is not in the estate", what, p.Network)
		}
		net := st.network(nid)
		pid := net.projectID
		if p.Project != "" {
			var err error
			if pid, err = projectOf(p.Project, what); err != nil {
				return nil, err
			}
		}
		if err := timeErr(what, p.CreatedAt, p.UpdatedAt); err != nil {
			return nil, err
		}
		np := &port{
			id: orDefault(p.ID, st.uuid()), name: p.Name, networkID: nid, projectID: pid, mac: p.MACAddress,
			deviceOwner: p.DeviceOwner, status: portStatusDown, description: p.Description,
			adminUp: p.AdminStateUp == nil || *p.AdminStateUp, revision: p.RevisionNumber, created: at(p.CreatedAt, now),
		}
		np.updated = at(p.UpdatedAt, np.created)
		if np.mac == "" {
			np.mac = st.mac()
		}
		if p.SecurityGroups != nil {
			np.securityGroups = append([]string{}, p.SecurityGroups...)
		} else if net.portSecurity {
			np.securityGroups = []string{st.project(pid).sgID}
		} else {
			np.securityGroups = []string{}
		}
		fixed := p.FixedIPs
		if p.FixedIP != "" {
			fixed = append([]EstateFixedIP{{IPAddress: p.FixedIP}}, fixed...)
		}
		if len(fixed) == 0 && len(net.subnets) > 0 {
			fixed = []EstateFixedIP{{}}
		}
		for j, f := range fixed {
			sb, err := st.pickSubnet(net, f.Subnet, subnets)
			if err != nil {
				return nil, fmt.Errorf("estate: %s.fixed_ips[%d]: %w", what, j, err)
			}
			ip := f.IPAddress
			if ip == "" {
				ip = st.nextIP(sb)
				if ip == "" {
					return nil, fmt.Errorf("estate: %s: subnet %s has no free address", what, sb.prefix)
				}
			} else if err := st.checkIP(sb, ip); err != nil {
				return nil, fmt.Errorf("estate: %s.fixed_ips[%d]: %w", what, j, err)
			}
			np.fixedIPs = append(np.fixedIPs, fixedIP{subnetID: sb.id, ip: ip})
		}
		if p.DeviceID != "" {
			if sid, ok := serverRefs[p.DeviceID]; ok {
				np.deviceID = sid
				if np.deviceOwner == "" {
					np.deviceOwner = deviceOwnerNova + "nova"
				}
			} else {
				np.deviceID = p.DeviceID // some other device (a router, a DHCP agent)
			}
		}
		if p.Status != "" {
			np.status = strings.ToUpper(p.Status)
		}
		if _, dup := ports[np.id]; dup {
			return nil, fmt.Errorf("estate: %s: duplicate port id %q", what, np.id)
		}
		ports.add(np.id, np.name)
		st.ports = append(st.ports, np)
	}

	// Place the servers now that ports exist.
	for _, ps := range pending {
		srv, es := ps.srv, ps.es
		what := fmt.Sprintf("servers[%d]", ps.index)
		if srv.vmState != vmError || es.Host != "" {
			hname := es.Host
			if hname == "" {
				h := st.schedule(&srv.flavor, schedRequest{zone: zoneOf(es.AvailabilityZone)})
				if h == nil {
					return nil, fmt.Errorf("estate: %s: no host has room for %q (%s)", what, srv.name, srv.flavor.name)
				}
				hname = h.name
			}
			h := st.host(hname)
			srv.host, srv.node = h.name, h.hypervisorHostname
			if srv.az == "" {
				srv.az = h.zone
			}
		}
		if srv.az == "" {
			srv.az = "nova"
		}
		for _, ref := range es.Ports {
			pid, ok := ports[ref]
			if !ok {
				return nil, fmt.Errorf("estate: %s: port %q is not in the estate", what, ref)
			}
			p := st.port(pid)
			if p.deviceID != "" && p.deviceID != srv.id {
				return nil, fmt.Errorf("estate: %s: port %q is already bound to %q", what, ref, p.deviceID)
			}
			st.bindPort(p, srv, now)
		}
		for _, ref := range es.Networks {
			net := st.network(networks[ref])
			if _, err := st.newPortFor(srv, net, "", now); err != nil {
				return nil, fmt.Errorf("estate: %s: %v", what, err)
			}
		}
	}
	// Ports bound by device_id take the server's host.
	for _, p := range st.ports {
		if srv := st.server(p.deviceID); srv != nil {
			st.bindPort(p, srv, p.updated)
		}
	}

	// Floating IPs.
	var external *network
	for _, n := range st.networks {
		if n.external {
			external = n
			break
		}
	}
	fips := map[string]bool{}
	for i, f := range e.FloatingIPs {
		what := fmt.Sprintf("floating_ips[%d]", i)
		net := external
		if f.Network != "" {
			nid, ok := networks[f.Network]
			if !ok {
				return nil, fmt.Errorf("estate: %s: network %q is not in the estate", what, f.Network)
			}
			net = st.network(nid)
		}
		if net == nil || !net.external || len(net.subnets) == 0 {
			return nil, fmt.Errorf("estate: %s: floating IPs need an external network with a subnet", what)
		}
		pid, err := projectOf(f.Project, what)
		if err != nil {
			return nil, err
		}
		if err := timeErr(what, f.CreatedAt, f.UpdatedAt); err != nil {
			return nil, err
		}
		addr := f.Address
		if addr == "" {
			addr = st.nextIP(net.subnets[0])
		} else {
			sb := st.subnetFor(net, addr)
			if sb == nil {
				return nil, fmt.Errorf("estate: %s: %s is not in network %s", what, addr, net.name)
			}
			if err := st.checkIP(sb, addr); err != nil {
				return nil, fmt.Errorf("estate: %s: %w", what, err)
			}
		}
		nf := &floatingIP{
			id: orDefault(f.ID, st.uuid()), address: addr, networkID: net.id, projectID: pid, status: "DOWN",
			description: f.Description, revision: f.RevisionNumber, created: at(f.CreatedAt, now),
		}
		nf.updated = at(f.UpdatedAt, nf.created)
		if f.Port != "" {
			portID, ok := ports[f.Port]
			if !ok {
				if srv := st.server(serverRefs[f.Port]); srv != nil {
					if ps := st.serverPorts(srv); len(ps) > 0 {
						portID, ok = ps[0].id, true
					}
				}
			}
			if !ok {
				return nil, fmt.Errorf("estate: %s: port %q is not in the estate", what, f.Port)
			}
			p := st.port(portID)
			fixed := f.FixedIP
			if fixed == "" && len(p.fixedIPs) > 0 {
				fixed = p.fixedIPs[0].ip
			}
			nf.portID, nf.fixedIP, nf.status = p.id, fixed, "ACTIVE"
			nf.routerID = orDefault(f.RouterID, net.routerID)
		} else if f.RouterID != "" {
			nf.routerID = f.RouterID
		}
		if f.Status != "" {
			nf.status = strings.ToUpper(f.Status)
		}
		if fips[nf.id] {
			return nil, fmt.Errorf("estate: %s: duplicate id %q", what, nf.id)
		}
		fips[nf.id] = true
		st.fips = append(st.fips, nf)
	}
	return st, nil
}

func checkServiceStatus(what, status, state string) error {
	switch status {
	case "", "enabled", "disabled":
	default:
		return fmt.Errorf("estate: %s: status %q: want enabled or disabled", what, status)
	}
	switch state {
	case "", "up", "down":
	default:
		return fmt.Errorf("estate: %s: state %q: want up or down", what, state)
	}
	return nil
}

// helpers --------------------------------------------------------------------

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func orInt(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

func orFloat(v, def float64) float64 {
	if v == 0 {
		return def
	}
	return v
}

func copyStrings(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// uuid returns a seeded UUID4.
func (st *state) uuid() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := st.ids.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// hexID is a Keystone id: 32 hex digits.
func (st *state) hexID() string { return strings.ReplaceAll(st.uuid(), "-", "") }

func (st *state) shortID(n int) string {
	const charset = "abcdefghijklmnopqrstuvwxyz0123456789"
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteByte(charset[st.ids.IntN(len(charset))])
	}
	return sb.String()
}

// mac is Neutron's base_mac fa:16:3e:00:00:00 with three random bytes.
func (st *state) mac() string {
	v := st.ids.Uint32()
	return fmt.Sprintf("fa:16:3e:%02x:%02x:%02x", byte(v>>16), byte(v>>8), byte(v))
}

func (st *state) password() string {
	const charset = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
	var sb strings.Builder
	for i := 0; i < 12; i++ {
		sb.WriteByte(charset[st.ids.IntN(len(charset))])
	}
	return sb.String()
}

// lookups --------------------------------------------------------------------

func (st *state) project(id string) *project {
	for _, p := range st.projects {
		if p.id == id {
			return p
		}
	}
	return nil
}

func (st *state) user(id string) *user {
	for _, u := range st.users {
		if u.id == id {
			return u
		}
	}
	return nil
}

func (st *state) host(name string) *host {
	for _, h := range st.hosts {
		if h.name == name {
			return h
		}
	}
	return nil
}

func (st *state) flavor(ref string) *flavor {
	for _, f := range st.flavors {
		if f.id == ref {
			return f
		}
	}
	return nil
}

func (st *state) image(id string) *image {
	for _, im := range st.images {
		if im.id == id {
			return im
		}
	}
	return nil
}

func (st *state) network(id string) *network {
	for _, n := range st.networks {
		if n.id == id {
			return n
		}
	}
	return nil
}

func (st *state) subnet(id string) *subnet {
	for _, s := range st.subnets {
		if s.id == id {
			return s
		}
	}
	return nil
}

func (st *state) port(id string) *port {
	for _, p := range st.ports {
		if p.id == id {
			return p
		}
	}
	return nil
}

func (st *state) fip(id string) *floatingIP {
	for _, f := range st.fips {
		if f.id == id {
			return f
		}
	}
	return nil
}

func (st *state) server(id string) *server {
	if id == "" {
		return nil
	}
	for _, s := range st.servers {
		if s.id == id {
			return s
		}
	}
	return nil
}

// serverPorts are the ports bound to srv, in creation order.
func (st *state) serverPorts(srv *server) []*port {
	var out []*port
	for _, p := range st.ports {
		if p.deviceID == srv.id {
			out = append(out, p)
		}
	}
	return out
}

func (st *state) fipsOfPort(portID string) []*floatingIP {
	var out []*floatingIP
	for _, f := range st.fips {
		if f.portID == portID {
			out = append(out, f)
		}
	}
	return out
}

// IP address management ----------------------------------------------------

func (st *state) pickSubnet(net *network, ref string, subnets names) (*subnet, error) {
	if len(net.subnets) == 0 {
		return nil, fmt.Errorf("network %s has no subnet", net.name)
	}
	if ref == "" {
		return net.subnets[0], nil
	}
	id := subnets[ref]
	for _, s := range net.subnets {
		if s.id == id || s.id == ref {
			return s, nil
		}
	}
	return nil, fmt.Errorf("subnet %q is not on network %s", ref, net.name)
}

func (st *state) subnetFor(net *network, ip string) *subnet {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return nil
	}
	for _, s := range net.subnets {
		if s.prefix.Contains(a) {
			return s
		}
	}
	return nil
}

func (st *state) ipInUse(subnetID, ip string) bool {
	for _, p := range st.ports {
		for _, f := range p.fixedIPs {
			if f.subnetID == subnetID && f.ip == ip {
				return true
			}
		}
	}
	for _, f := range st.fips {
		if f.address == ip {
			if s := st.subnet(subnetID); s != nil && s.networkID == f.networkID {
				return true
			}
		}
	}
	return false
}

func (st *state) checkIP(sb *subnet, ip string) error {
	a, err := netip.ParseAddr(ip)
	if err != nil || !sb.prefix.Contains(a) {
		return fmt.Errorf("%s is not an address of subnet %s", ip, sb.prefix)
	}
	if st.ipInUse(sb.id, ip) {
		return fmt.Errorf("%s is already allocated in subnet %s", ip, sb.id)
	}
	return nil
}

// nextIP is the lowest free address of the subnet above the gateway.
func (st *state) nextIP(sb *subnet) string {
	for a := sb.prefix.Addr().Next(); sb.prefix.Contains(a); a = a.Next() {
		if a == sb.gateway {
			continue
		}
		if !sb.prefix.Contains(a.Next()) { // broadcast
			break
		}
		if !st.ipInUse(sb.id, a.String()) {
			return a.String()
		}
	}
	return ""
}

// bindPort makes p the server's interface.
func (st *state) bindPort(p *port, srv *server, now time.Time) {
	p.deviceID = srv.id
	if p.deviceOwner == "" || !strings.HasPrefix(p.deviceOwner, deviceOwnerNova) {
		p.deviceOwner = deviceOwnerNova + srv.az
	}
	p.bindingHost = srv.host
	if srv.host != "" && (srv.vmState == vmActive || srv.vmState == vmStopped) {
		p.status = portStatusActive
	}
	p.updated = now
}

// unbindPort is what Nova does to a port it did not create when the server
// goes away or the interface is detached.
func (st *state) unbindPort(p *port, now time.Time) {
	p.deviceID, p.deviceOwner, p.bindingHost, p.status = "", "", "", portStatusDown
	p.updated = now
	p.revision++
}

// newPortFor creates a port on net for srv (Nova's allocation for a
// networks entry with a uuid).
func (st *state) newPortFor(srv *server, net *network, fixed string, now time.Time) (*port, error) {
	if len(net.subnets) == 0 {
		return nil, fmt.Errorf("network %s has no subnet", net.name)
	}
	var sb *subnet
	ip := fixed
	if ip != "" {
		sb = st.subnetFor(net, ip)
		if sb == nil {
			return nil, fmt.Errorf("fixed IP %s is not in network %s", ip, net.id)
		}
		if st.ipInUse(sb.id, ip) {
			return nil, errIPInUse
		}
	} else {
		for _, s := range net.subnets {
			if ip = st.nextIP(s); ip != "" {
				sb = s
				break
			}
		}
		if ip == "" {
			return nil, errNoMoreIPs
		}
	}
	p := &port{
		id: st.uuid(), networkID: net.id, projectID: srv.projectID, mac: st.mac(), status: portStatusDown, adminUp: true,
		fixedIPs: []fixedIP{{subnetID: sb.id, ip: ip}}, created: now, updated: now, novaCreated: true, revision: 1,
	}
	if net.portSecurity {
		if pr := st.project(srv.projectID); pr != nil {
			p.securityGroups = []string{pr.sgID}
		}
	}
	if p.securityGroups == nil {
		p.securityGroups = []string{}
	}
	st.ports = append(st.ports, p)
	st.bindPort(p, srv, now)
	return p, nil
}

var (
	errIPInUse   = fmt.Errorf("fixed IP already in use")
	errNoMoreIPs = fmt.Errorf("no more fixed IPs")
)

// capacity -------------------------------------------------------------------

// usage sums what the servers on (or claiming) h use.
type usage struct {
	vcpus, ramMB, diskGB, servers int
}

func (st *state) usage(h *host) usage {
	var u usage
	for _, s := range st.servers {
		if s.host != h.name && s.claim != h.name {
			continue
		}
		u.vcpus += s.flavor.vcpus
		u.ramMB += s.flavor.ram
		u.diskGB += s.flavor.disk + s.flavor.ephemeral
		if s.host == h.name {
			u.servers++
		}
	}
	return u
}

// fits is placement's check: used + requested <= (total - reserved) * ratio.
func (st *state) fits(h *host, f *flavor) bool {
	u := st.usage(h)
	if float64(u.vcpus+f.vcpus) > float64(h.vcpus-h.reservedCPUs)*h.cpuRatio {
		return false
	}
	if float64(u.ramMB+f.ram) > float64(h.memoryMB-h.reservedMB)*h.ramRatio {
		return false
	}
	if float64(u.diskGB+f.disk+f.ephemeral) > float64(h.localGB)*h.diskRatio {
		return false
	}
	return true
}

// freeRAM is what the RAM weigher looks at.
func (st *state) freeRAM(h *host) float64 {
	return float64(h.memoryMB-h.reservedMB)*h.ramRatio - float64(st.usage(h).ramMB)
}

type schedRequest struct {
	zone    string
	exclude string
}

// schedule is the filter scheduler with the RAM weigher: among hosts whose
// service is enabled and up (ComputeFilter), in the requested zone
// (AvailabilityZoneFilter), with room (placement), the one with the most free
// RAM; ties go to the first in estate order.
func (st *state) schedule(f *flavor, req schedRequest) *host {
	var best *host
	bestFree := 0.0
	for _, h := range st.hosts {
		if h.name == req.exclude || h.svc.disabled || !h.svc.up() {
			continue
		}
		if req.zone != "" && h.zone != req.zone {
			continue
		}
		if !st.fits(h, f) {
			continue
		}
		if free := st.freeRAM(h); best == nil || free > bestFree {
			best, bestFree = h, free
		}
	}
	return best
}

func zoneOf(az string) string {
	z, _, _ := strings.Cut(az, ":")
	return z
}

// tasks ----------------------------------------------------------------------

// schedule a transition.
func (st *state) after(at time.Time, hostName string, srv *server, run func(at time.Time)) *task {
	st.taskSeq++
	t := &task{seq: st.taskSeq, at: at, host: hostName, srv: srv, run: run}
	st.tasks = append(st.tasks, t)
	return t
}

func (st *state) hostAlive(name string) bool {
	h := st.host(name)
	return h == nil || h.svc.heartbeat
}

// advance applies, in time order, every transition due by now. A transition
// that needs a dead compute host waits until the host comes back.
func (st *state) advance(now time.Time) {
	for guard := 0; guard < 10_000_000; guard++ {
		var next *task
		for _, t := range st.tasks {
			if t.done || t.waiting || t.at.After(now) {
				continue
			}
			if next == nil || t.at.Before(next.at) || (t.at.Equal(next.at) && t.seq < next.seq) {
				next = t
			}
		}
		if next == nil {
			break
		}
		if next.host != "" && !st.hostAlive(next.host) {
			next.waiting = true
			continue
		}
		next.done = true
		next.run(next.at)
	}
	kept := st.tasks[:0]
	for _, t := range st.tasks {
		if !t.done {
			kept = append(kept, t)
		}
	}
	for i := len(kept); i < len(st.tasks); i++ {
		st.tasks[i] = nil
	}
	st.tasks = kept
}

// wake releases the transitions waiting for a host that came back at `at`.
func (st *state) wake(hostName string, at time.Time) {
	for _, t := range st.tasks {
		if t.waiting && t.host == hostName {
			t.waiting = false
			if t.at.Before(at) {
				t.at = at
			}
		}
	}
}

// cancelTasks drops the pending transitions of a server.
func (st *state) cancelTasks(srv *server) {
	for _, t := range st.tasks {
		if t.srv == srv {
			t.done = true
		}
	}
}

// removeServer forgets a deleted server: Nova-made ports go, others are
// unbound, and their floating IPs are disassociated.
func (st *state) removeServer(srv *server, now time.Time) {
	st.cancelTasks(srv)
	keptPorts := st.ports[:0]
	for _, p := range st.ports {
		if p.deviceID != srv.id {
			keptPorts = append(keptPorts, p)
			continue
		}
		if p.novaCreated {
			// Neutron deletes the port and, with it, the association.
			for _, f := range st.fipsOfPort(p.id) {
				f.portID, f.fixedIP, f.status, f.routerID = "", "", "DOWN", ""
				f.updated = now
				f.revision++
			}
			continue
		}
		// A port the user made outlives the server, floating IP included.
		st.unbindPort(p, now)
		keptPorts = append(keptPorts, p)
	}
	st.ports = keptPorts
	kept := st.servers[:0]
	for _, s := range st.servers {
		if s != srv {
			kept = append(kept, s)
		}
	}
	st.servers = kept
}
