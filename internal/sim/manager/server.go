package manager

import (
	"encoding/base64"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/internal/sim/simfault"

	"github.com/jonboulle/clockwork"
)

// Options configure a simulated manager. The zero value serves
// DefaultEstate in real time, as the current generation.
type Options struct {
	// Estate seeds the manager; nil means DefaultEstate.
	Estate *Estate
	// Clock drives every asynchronous transition (executions, maintenance
	// draining, the restore's restart window). Nil means real time; tests
	// pass clockwork.NewFakeClock() and Advance it.
	Clock clockwork.Clock
	// Generation is GenerationCurrent (default) or Generation50.
	Generation string
	// Timing of asynchronous work; zero fields take the defaults.
	Timing Timing
	// RestoreGate chooses which calls a running restore answers with 503
	// in_snapshot_restore_error: RestoreGateAll (default: every API call but
	// /ok, /version, /status and /snapshot-status, the drill-friendly model) or
	// RestoreGateClusterStatus (only /cluster-status, exactly what the code
	// does: SecuredResourceBannedSnapshotRestore).
	RestoreGate string
	// RestartMode is how the manager is unreachable while it restarts at the
	// end of a restore: RestartRefuse (default; with Start the listener is
	// closed so connections are refused, and requests that still arrive are
	// dropped) or Restart502 (nginx answers 502 Bad Gateway). A handler used
	// without Start always answers 502.
	RestartMode string
	// Seed makes generated ids and fault decisions reproducible (default 1).
	Seed uint64
}

// Restore gates and restart modes.
const (
	RestoreGateAll           = "all"
	RestoreGateClusterStatus = "cluster-status"
	RestartRefuse            = "refuse"
	Restart502               = "502"
)

// Timing is how long simulated work takes. Defaults keep a whole restore
// under a quarter of a second.
type Timing struct {
	// Start: pending -> started (default 10ms).
	Start time.Duration
	// Run: started -> terminated/failed for ordinary workflows (default 30ms).
	Run time.Duration
	// Snapshot: create_snapshot's run (default 30ms).
	Snapshot time.Duration
	// Restore: restore_snapshot's run before the manager restarts, while
	// calls get 503 in_snapshot_restore_error (default 50ms).
	Restore time.Duration
	// Restart: how long the manager is unreachable after the restore's work,
	// before it answers again and the execution is terminated (default
	// 100ms; negative disables the window).
	Restart time.Duration
	// Cancel: cancelling/force_cancelling/kill_cancelling -> cancelled
	// (default 10ms).
	Cancel time.Duration
	// Workflows overrides Run per workflow id (e.g. "install_new_agents").
	Workflows map[string]time.Duration
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&t.Start, 10*time.Millisecond)
	def(&t.Run, 30*time.Millisecond)
	def(&t.Snapshot, 30*time.Millisecond)
	def(&t.Restore, 50*time.Millisecond)
	def(&t.Restart, 100*time.Millisecond)
	def(&t.Cancel, 10*time.Millisecond)
	if t.Restart < 0 {
		t.Restart = 0
	}
	return t
}

func (t Timing) runTime(workflow string) time.Duration {
	if d, ok := t.Workflows[workflow]; ok {
		return d
	}
	switch workflow {
	case "create_snapshot":
		return t.Snapshot
	case "restore_snapshot":
		return t.Restore
	}
	return t.Run
}

// Server is a simulated Cloudify Manager. It is safe for concurrent use.
type Server struct {
	opts       Options
	clock      clockwork.Clock
	generation string
	timing     Timing
	initial    *Estate
	epoch      time.Time // when the estate was loaded (base of relative times)

	mu  sync.Mutex // guards st and ids
	st  *state
	ids *rand.Rand

	faultMu sync.Mutex
	faults  Faults
	picker  *simfault.Picker // replaced whole by SetFaults, under faultMu

	log simfault.RequestLog[RequestRecord]

	lc listenerCtl
}

// New builds a simulated manager. It panics on an estate that fails
// Validate; LoadEstate and ParseEstate report those errors first.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.RestoreGate == "" {
		opts.RestoreGate = RestoreGateAll
	}
	if opts.RestartMode == "" {
		opts.RestartMode = RestartRefuse
	}
	est := opts.Estate
	if est == nil {
		est = DefaultEstate()
	}
	if err := est.Validate(); err != nil {
		panic(err)
	}
	gen := opts.Generation
	if gen == "" {
		gen = est.Generation
	}
	if gen == "" {
		gen = GenerationCurrent
	}
	if gen != GenerationCurrent && gen != Generation50 {
		panic(fmt.Sprintf("manager sim: generation %q: want %q or %q", gen, GenerationCurrent, Generation50))
	}
	s := &Server{
		opts:       opts,
		clock:      opts.Clock,
		generation: gen,
		timing:     opts.Timing.withDefaults(),
		initial:    est,
	}
	s.reset()
	return s
}

// reset reloads the initial estate and forgets faults and the request log.
func (s *Server) reset() {
	s.mu.Lock()
	s.lc.stopTimers()
	s.epoch = s.clock.Now()
	s.ids = rand.New(rand.NewPCG(s.opts.Seed, 0x6d616e61676572))
	s.st = s.buildState(s.initial, s.epoch)
	s.mu.Unlock()

	s.faultMu.Lock()
	s.faults = Faults{}
	s.picker = simfault.NewPicker(s.opts.Seed, nil)
	s.faultMu.Unlock()

	s.log.Clear()

	s.lc.ensureUp()
}

// Handler serves the API under /api/v3.1 and the control endpoints under
// /_sim.
func (s *Server) Handler() http.Handler { return s }

// Start listens on addr (default 127.0.0.1:0) and serves in the background.
// It returns the base URL, e.g. "http://127.0.0.1:41234".
func (s *Server) Start(addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	s.lc.start(ln, srv)
	return "http://" + ln.Addr().String(), nil
}

// Close stops serving and cancels pending timers.
func (s *Server) Close() {
	s.lc.close()
}

// state is everything the manager knows.
type state struct {
	users          map[string]*user
	tenants        map[string]bool
	tokens         []*token
	snapshots      []*snapshot
	blueprints     []*blueprint
	deployments    []*deployment
	plugins        []*plugin
	executions     []*execution
	events         []*event
	pluginsUpdates []*pluginsUpdate
	managers       []*managerNode
	maint          *maintenance
	version        VersionInfo
}

func (s *Server) buildState(e *Estate, now time.Time) *state {
	st := &state{users: map[string]*user{}, tenants: map[string]bool{defaultTenant: true}}
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
	tenantOr := func(t string) string {
		if t == "" {
			return defaultTenant
		}
		st.tenants[t] = true
		return t
	}
	for _, t := range e.Tenants {
		st.tenants[t] = true
	}
	if s.generation == Generation50 {
		st.version = VersionInfo{Version: "5.0.5", Edition: "premium", Distribution: "centos", DistroRelease: "Core"}
	} else {
		st.version = VersionInfo{Version: "7.0.4", Edition: "premium", Distribution: "rhel", DistroRelease: "Ootpa"}
	}
	if e.Version != nil {
		st.version = *e.Version
	}
	users := e.Users
	if len(users) == 0 {
		users = []EstateUser{{Username: "admin", Password: "admin", Role: roleSysAdmin}}
	}
	for i, u := range users {
		role := u.Role
		if role == "" {
			role = roleDefault
			if i == 0 && len(e.Users) == 0 {
				role = roleSysAdmin
			}
		}
		nu := &user{id: i, username: u.Username, password: u.Password, role: role, tenants: map[string]string{}, active: u.Active == nil || *u.Active}
		for t, r := range u.Tenants {
			nu.tenants[tenantOr(t)] = r
		}
		if role == roleSysAdmin && len(nu.tenants) == 0 {
			nu.tenants[defaultTenant] = "user"
		}
		st.users[u.Username] = nu
	}
	for _, t := range e.Tokens {
		st.tokens = append(st.tokens, &token{
			id: t.ID, secret: t.Secret, value: t.Value, username: t.Username,
			description: t.Description, expiration: at(t.ExpirationDate, time.Time{}),
		})
	}
	for _, sn := range e.Snapshots {
		status := sn.Status
		if status == "" {
			status = snapCreated
		}
		vis := sn.Visibility
		if vis == "" {
			vis = visibilityPrivate
		}
		ns := &snapshot{
			id: sn.ID, tenant: tenantOr(sn.Tenant), status: status, errMsg: sn.Error,
			createdAt: at(sn.CreatedAt, now), createdBy: orDefault(sn.CreatedBy, "admin"),
			visibility: vis, contents: sn.Contents,
		}
		switch {
		case sn.PayloadBase64 != "":
			ns.archive, _ = base64.StdEncoding.DecodeString(sn.PayloadBase64)
		case sn.Payload != "":
			ns.archive = []byte(sn.Payload)
		case sn.Size > 0:
			ns.archive = deterministicBytes(sn.ID, sn.Size)
		case status == snapCreated || status == snapUploaded:
			c := sn.Contents
			if c == nil {
				c = &Contents{}
			}
			ns.archive = buildArchive(ns.id, st.version.Version, ns.createdAt, c)
		}
		st.snapshots = append(st.snapshots, ns)
	}
	s.installContents(st, &e.Contents, now, tenantOr)
	mgrs := e.Managers
	if len(mgrs) == 0 {
		mgrs = []EstateManager{{Hostname: "cfy-manager", PrivateIP: "127.0.0.1", PublicIP: "127.0.0.1"}}
	}
	for i, m := range mgrs {
		st.managers = append(st.managers, &managerNode{
			id: i, hostname: m.Hostname, privateIP: m.PrivateIP, publicIP: m.PublicIP,
			version: orDefault(m.Version, st.version.Version), edition: orDefault(m.Edition, st.version.Edition),
			distro: orDefault(m.Distribution, st.version.Distribution), distroRel: orDefault(m.DistroRelease, st.version.DistroRelease),
			status: orDefault(m.Status, statusOK), networks: m.Networks, lastSeen: now,
		})
	}
	return st
}

// installContents replaces blueprints, deployments, plugins and executions
// with c (estate load and snapshot restore).
func (s *Server) installContents(st *state, c *Contents, now time.Time, tenantOr func(string) string) {
	at := func(v string, def time.Time) time.Time {
		if v == "" {
			return def
		}
		t, err := parseEstateTime(v, s.epoch)
		if err != nil {
			return def
		}
		return t
	}
	st.blueprints, st.deployments, st.plugins = nil, nil, nil
	for _, b := range c.Blueprints {
		st.blueprints = append(st.blueprints, &blueprint{
			id: b.ID, tenant: tenantOr(b.Tenant), createdBy: orDefault(b.CreatedBy, "admin"),
			description: b.Description, mainFile: orDefault(b.MainFileName, "blueprint.yaml"),
			createdAt: at(b.CreatedAt, now), plugins: append([]PluginRef(nil), b.Plugins...),
		})
	}
	for _, d := range c.Deployments {
		wfs := d.Workflows
		if len(wfs) == 0 {
			wfs = defaultWorkflows
		}
		st.deployments = append(st.deployments, &deployment{
			id: d.ID, tenant: tenantOr(d.Tenant), blueprintID: d.BlueprintID, createdBy: orDefault(d.CreatedBy, "admin"),
			displayName: orDefault(d.DisplayName, d.ID), createdAt: at(d.CreatedAt, now), workflows: append([]string(nil), wfs...),
		})
	}
	for _, p := range c.Plugins {
		st.plugins = append(st.plugins, &plugin{
			id: p.ID, tenant: tenantOr(p.Tenant), packageName: p.PackageName, packageVersion: p.PackageVersion,
			distribution: orDefault(p.Distribution, "manylinux"), uploadedAt: at(p.UploadedAt, now),
		})
	}
	var keep []*execution
	for _, x := range st.executions {
		if x.workflowID == "restore_snapshot" && !isEnd(x.status) {
			keep = append(keep, x) // the restore itself survives its own DB swap
		}
	}
	st.executions = keep
	for _, x := range c.Executions {
		status := orDefault(x.Status, execTerminated)
		ne := &execution{
			id: x.ID, tenant: tenantOr(x.Tenant), workflowID: x.WorkflowID, deploymentID: x.DeploymentID,
			status: status, errMsg: x.Error, parameters: copyMap(x.Parameters), isSystem: x.IsSystemWorkflow,
			createdAt: at(x.CreatedAt, now), startedAt: at(x.StartedAt, time.Time{}), endedAt: at(x.EndedAt, time.Time{}),
			scheduledFor: at(x.ScheduledFor, time.Time{}), createdBy: orDefault(x.CreatedBy, "admin"),
		}
		if d := st.deployment(ne.tenant, ne.deploymentID); d != nil {
			ne.blueprintID = d.blueprintID
		}
		switch status {
		case execPending:
			ne.nextAt = now.Add(s.timing.Start)
		case execStarted:
			ne.nextAt = now.Add(s.timing.runTime(ne.workflowID))
		case execCancelling, execForceCancelling, execKillCancelling:
			ne.nextAt = now.Add(s.timing.Cancel)
		}
		st.executions = append(st.executions, ne)
	}
}

func (st *state) deployment(tenant, id string) *deployment {
	for _, d := range st.deployments {
		if d.id == id && d.tenant == tenant {
			return d
		}
	}
	return nil
}

func (st *state) blueprint(tenant, id string) *blueprint {
	for _, b := range st.blueprints {
		if b.id == id && b.tenant == tenant {
			return b
		}
	}
	return nil
}

func (st *state) snapshot(tenant, id string) *snapshot {
	for _, sn := range st.snapshots {
		if sn.id == id && sn.tenant == tenant {
			return sn
		}
	}
	return nil
}

func (st *state) execution(id string) *execution {
	for _, e := range st.executions {
		if e.id == id {
			return e
		}
	}
	return nil
}

func (st *state) deploymentIndex() map[string]*deployment {
	m := map[string]*deployment{}
	for _, d := range st.deployments {
		m[d.tenant+"/"+d.id] = d
	}
	return m
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func copyMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// newID returns a random (seeded) UUID-shaped id, like the manager's.
func (s *Server) newID() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := s.ids.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// randomString is tokens.py _random_string: letters and digits.
func (s *Server) randomString(n int) string {
	const charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
	var sb strings.Builder
	for i := 0; i < n; i++ {
		sb.WriteByte(charset[s.ids.IntN(len(charset))])
	}
	return sb.String()
}

// listenerCtl owns the listener so that the manager can "restart": close
// the listener and every connection, then listen again on the same address.
type listenerCtl struct {
	mu     sync.Mutex
	srv    *http.Server
	ln     net.Listener
	addr   string
	conns  map[net.Conn]struct{}
	down   bool
	closed bool
	timers []clockwork.Timer
}

func (l *listenerCtl) start(ln net.Listener, srv *http.Server) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.srv, l.ln, l.addr = srv, ln, ln.Addr().String()
	l.conns = map[net.Conn]struct{}{}
	srv.ConnState = l.track
	go func() { _ = srv.Serve(ln) }()
}

func (l *listenerCtl) started() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.srv != nil && !l.closed
}

func (l *listenerCtl) track(c net.Conn, st http.ConnState) {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch st {
	case http.StateNew:
		l.conns[c] = struct{}{}
	case http.StateClosed, http.StateHijacked:
		delete(l.conns, c)
	}
}

// goDown refuses connections: the restarting manager.
func (l *listenerCtl) goDown() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.srv == nil || l.closed || l.down {
		return
	}
	l.down = true
	if l.ln != nil {
		_ = l.ln.Close()
		l.ln = nil
	}
	for c := range l.conns {
		_ = c.Close()
		delete(l.conns, c)
	}
}

// goUp listens again on the same address.
func (l *listenerCtl) goUp() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.srv == nil || l.closed || !l.down {
		return
	}
	var ln net.Listener
	var err error
	for i := 0; i < 100; i++ {
		ln, err = net.Listen("tcp", l.addr)
		if err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err != nil {
		return // the port was taken; the manager stays down
	}
	l.ln, l.down = ln, false
	srv := l.srv
	go func() { _ = srv.Serve(ln) }()
}

func (l *listenerCtl) ensureUp() {
	l.mu.Lock()
	down := l.down
	l.mu.Unlock()
	if down {
		l.goUp()
	}
}

func (l *listenerCtl) addTimer(t clockwork.Timer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.timers = append(l.timers, t)
}

func (l *listenerCtl) stopTimers() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, t := range l.timers {
		t.Stop()
	}
	l.timers = nil
}

func (l *listenerCtl) close() {
	l.stopTimers()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return
	}
	l.closed = true
	if l.srv != nil {
		_ = l.srv.Close()
	}
	if l.ln != nil {
		_ = l.ln.Close()
	}
}
