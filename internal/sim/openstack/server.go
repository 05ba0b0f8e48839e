package openstack

import (
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/internal/sim/simfault"

	"github.com/jonboulle/clockwork"
)

// Options configure a simulated cloud. The zero value serves DefaultEstate
// in real time.
type Options struct {
	// Estate seeds the cloud; nil means DefaultEstate.
	Estate *Estate
	// Clock drives every asynchronous transition. Nil means real time;
	// tests pass clockwork.NewFakeClock() and Advance it.
	Clock clockwork.Clock
	// Timing of asynchronous work; zero fields take the defaults.
	Timing Timing
	// MaxMicroversion is the highest Nova microversion served (default the
	// estate's, else 2.95). Requests above it get 406, as from Nova.
	MaxMicroversion string
	// TokenTTL is how long Keystone tokens live (default 1h).
	TokenTTL time.Duration
	// Seed makes generated ids and fault decisions reproducible (default 1).
	Seed uint64
}

// Timing is how long simulated work takes. The defaults keep a whole
// evacuation of a host well under a second.
type Timing struct {
	// Build: a new server BUILD -> ACTIVE (or ERROR when no host fits)
	// (default 30ms).
	Build time.Duration
	// Delete: a deleted server disappears (default 20ms).
	Delete time.Duration
	// Power: os-stop and os-start (default 10ms).
	Power time.Duration
	// Reboot: REBOOT / HARD_REBOOT -> ACTIVE (default 20ms).
	Reboot time.Duration
	// Rebuild: REBUILD -> ACTIVE (default 30ms).
	Rebuild time.Duration
	// Evacuate is L, the time one server takes to evacuate: REBUILD ->
	// ACTIVE on the new host (default 50ms). An estate server's
	// evacuate_time overrides it.
	Evacuate time.Duration
	// Interface: a detached port is released (default 10ms).
	Interface time.Duration
	// FloatingIP: an associated floating IP goes DOWN -> ACTIVE (default
	// 10ms).
	FloatingIP time.Duration
}

func (t Timing) withDefaults() Timing {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&t.Build, 30*time.Millisecond)
	def(&t.Delete, 20*time.Millisecond)
	def(&t.Power, 10*time.Millisecond)
	def(&t.Reboot, 20*time.Millisecond)
	def(&t.Rebuild, 30*time.Millisecond)
	def(&t.Evacuate, 50*time.Millisecond)
	def(&t.Interface, 10*time.Millisecond)
	def(&t.FloatingIP, 10*time.Millisecond)
	return t
}

// Server is a simulated OpenStack cloud (Keystone, Nova, Neutron, with
// minimal Glance and Placement). It is safe for concurrent use.
type Server struct {
	opts    Options
	clock   clockwork.Clock
	timing  Timing
	initial *Estate
	maxMV   microversion // from Options; zero means the estate's
	ttl     time.Duration

	mu    sync.Mutex // guards st and reqIDs
	st    *state
	epoch time.Time
	reqs  *rand.Rand

	faultMu sync.Mutex
	faults  Faults
	picker  *simfault.Picker // replaced whole by SetFaults, under faultMu

	log simfault.RequestLog[RequestRecord]

	httpMu sync.Mutex
	srv    *http.Server
	ln     net.Listener
}

// New builds a simulated cloud. It panics on an estate that fails Validate
// or a bad MaxMicroversion; LoadEstate and ParseEstate report estate errors
// first.
func New(opts Options) *Server {
	if opts.Clock == nil {
		opts.Clock = clockwork.NewRealClock()
	}
	if opts.Seed == 0 {
		opts.Seed = 1
	}
	if opts.TokenTTL <= 0 {
		opts.TokenTTL = time.Hour
	}
	est := opts.Estate
	if est == nil {
		est = DefaultEstate()
	}
	if err := est.Validate(); err != nil {
		panic(err)
	}
	s := &Server{opts: opts, clock: opts.Clock, timing: opts.Timing.withDefaults(), initial: est, ttl: opts.TokenTTL}
	if opts.MaxMicroversion != "" {
		v, err := parseMicroversion(opts.MaxMicroversion)
		if err != nil || v.less(minMicroversion) || highestMicroversion.less(v) {
			panic(fmt.Sprintf("openstack sim: MaxMicroversion %q: want 2.1 .. %s", opts.MaxMicroversion, highestMicroversion))
		}
		s.maxMV = v
	}
	s.reset()
	return s
}

// reset reloads the initial estate and forgets tokens, faults and the
// request log.
func (s *Server) reset() {
	s.mu.Lock()
	s.epoch = s.clock.Now()
	st, err := buildWorld(s.initial, s.epoch, s.opts.Seed)
	if err != nil {
		panic(err) // validated in New
	}
	if s.maxMV != (microversion{}) {
		st.maxMV = s.maxMV
	}
	s.st = st
	s.reqs = rand.New(rand.NewPCG(s.opts.Seed, 0x72657169640a))
	s.mu.Unlock()

	s.faultMu.Lock()
	s.faults = Faults{}
	s.picker = simfault.NewPicker(s.opts.Seed, nil)
	s.faultMu.Unlock()

	s.log.Clear()
}

// Handler serves Keystone (/v3), Nova (/compute/v2.1), Neutron
// (/network/v2.0), Glance (/image/v2), Placement (/placement) and the
// control endpoints (/_sim).
func (s *Server) Handler() http.Handler { return s }

// Start listens on addr (default 127.0.0.1:0) and serves in the background.
// It returns the base URL, e.g. "http://127.0.0.1:41234"; the Keystone auth
// URL is the base URL plus "/v3".
func (s *Server) Start(addr string) (string, error) {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 30 * time.Second}
	s.httpMu.Lock()
	s.srv, s.ln = srv, ln
	s.httpMu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), nil
}

// Close stops serving.
func (s *Server) Close() {
	s.httpMu.Lock()
	defer s.httpMu.Unlock()
	if s.srv != nil {
		_ = s.srv.Close()
		s.srv = nil
	}
}
