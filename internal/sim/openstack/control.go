package openstack

import (
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/runbook-dev/runbook/internal/sim/simfault"
)

// RequestRecord is one API request as GET /_sim/requests reports it. It
// never holds tokens, passwords or bodies; query values whose names look
// secret are replaced by "REDACTED".
type RequestRecord struct {
	Method string              `json:"method"`
	Path   string              `json:"path"`
	Query  map[string][]string `json:"query,omitempty"`
	Status int                 `json:"status"`
	Time   time.Time           `json:"time"`
	// Service is identity, compute, network, image or placement.
	Service string `json:"service,omitempty"`
	// Microversion is the Nova microversion the request was served at.
	Microversion string `json:"microversion,omitempty"`
	// Auth is "token" when the request carried X-Auth-Token.
	Auth string `json:"auth,omitempty"`
	// Fault names what the simulator did instead of answering normally:
	// "error", "drop" or "latency".
	Fault   string `json:"fault,omitempty"`
	Dropped bool   `json:"dropped,omitempty"`
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []RequestRecord { return s.log.All() }

func authKind(r *http.Request) string {
	if r.Header.Get("X-Auth-Token") != "" {
		return "token"
	}
	return ""
}

// Faults is what POST /_sim/faults installs (it replaces the previous set;
// POST {} clears). Decisions are drawn from a generator seeded with Seed
// (default Options.Seed), so the same requests in the same order meet the
// same faults.
type Faults struct {
	Seed  uint64      `json:"seed,omitempty"`
	Rules []FaultRule `json:"rules,omitempty"`
	// FailEvacuations makes evacuations of these servers (id or name)
	// started from now on end in ERROR with the given fault message (""
	// for a default one).
	FailEvacuations map[string]string `json:"fail_evacuations,omitempty"`
	// HostStates sets the heartbeat of compute hosts when installed:
	// "down" is a host failure (its nova-compute service is reported down
	// and work sent to it waits), "up" brings it back.
	HostStates map[string]string `json:"host_states,omitempty"`
}

// FaultRule is one rule of Faults (simfault.Rule).
type FaultRule = simfault.Rule

// evacuationFailure returns the injected fault message for an evacuation of
// srv, if any.
func (s *Server) evacuationFailure(srv *server) (string, bool) {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	for _, key := range []string{srv.id, srv.name} {
		if msg, ok := s.faults.FailEvacuations[key]; ok {
			if msg == "" {
				msg = "Simulated evacuation failure: the instance could not be rebuilt on the destination host."
			}
			return msg, true
		}
	}
	return "", false
}

// faultResponse is what an injected 5xx looks like: the service's own 500,
// or the load balancer's page for the gateway errors.
func faultResponse(svc string, status int) *response {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		text := map[int]string{
			502: "The server returned an invalid or incomplete response.",
			503: "No server is available to handle this request.",
			504: "The server didn't respond in time.",
		}[status]
		body := fmt.Sprintf("<html><body><h1>%d %s</h1>\n%s\n</body></html>\n", status, http.StatusText(status), text)
		return &response{status: status, raw: []byte(body), ctype: "text/html"}
	}
	switch svc {
	case svcCompute:
		return novaError(status, "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.\n<class 'nova.exception.SimulatedFault'>")
	case svcNetwork:
		return neutronError(status, "HTTPInternalServerError", "Request Failed: internal server error while processing your request.")
	case svcIdentity:
		return keystoneError(status, "Internal Server Error", "An unexpected error prevented the server from fulfilling your request.")
	}
	return webobError(status, "The server has either erred or is incapable of performing the requested operation.")
}

// serveControl answers /_sim/requests, /_sim/faults and /_sim/reset, as
// simfault.Control does for both simulators, with this API's error body.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	c := simfault.Control[Faults, RequestRecord]{
		Requests: s.Requests, SetFaults: s.SetFaults, Reset: s.Reset,
		Faults: func() Faults {
			s.faultMu.Lock()
			defer s.faultMu.Unlock()
			return s.faults
		},
		ErrorBody: func(status int, msg string) any {
			return map[string]any{"error": map[string]any{"code": status, "message": msg}}
		},
	}
	c.ServeHTTP(w, r)
}

// SetFaults installs a fault set (what POST /_sim/faults does).
func (s *Server) SetFaults(f Faults) error {
	if err := simfault.Validate(f.Rules); err != nil {
		return err
	}
	hosts := make([]string, 0, len(f.HostStates))
	for h, state := range f.HostStates {
		if state != "up" && state != "down" {
			return fmt.Errorf("faults: host_states[%q] = %q: want up or down", h, state)
		}
		hosts = append(hosts, h)
	}
	sort.Strings(hosts)
	if len(hosts) > 0 {
		s.mu.Lock()
		now := s.clock.Now().UTC()
		s.st.advance(now)
		for _, h := range hosts {
			if s.st.host(h) == nil {
				s.mu.Unlock()
				return fmt.Errorf("faults: host_states: no host %q", h)
			}
		}
		for _, h := range hosts {
			s.st.setHeartbeat(h, f.HostStates[h] == "up", now)
		}
		s.mu.Unlock()
	}
	seed := f.Seed
	if seed == 0 {
		seed = s.opts.Seed
	}
	s.faultMu.Lock()
	s.faults = f
	s.picker = simfault.NewPicker(seed, f.Rules)
	s.faultMu.Unlock()
	return nil
}

// setHeartbeat makes a compute host fail (alive false) or come back.
func (st *state) setHeartbeat(name string, alive bool, now time.Time) {
	h := st.host(name)
	if h == nil || h.svc.heartbeat == alive {
		return
	}
	h.svc.updatedAt = h.svc.lastBeat(now)
	h.svc.heartbeat = alive
	if alive {
		// nova-compute's startup: evacuations away from it complete.
		for _, m := range st.migrations {
			if m.source == name && m.status == "done" {
				m.status, m.updated = "completed", now
			}
		}
		st.wake(name, now)
	}
}

// reportInterval is Nova's report_interval: services heartbeat every 10s.
const reportInterval = 10 * time.Second

// lastBeat is the service's updated_at: the last heartbeat, frozen while it
// is down.
func (sv *service) lastBeat(now time.Time) time.Time {
	if !sv.heartbeat {
		return sv.updatedAt
	}
	if t := now.Truncate(reportInterval); t.After(sv.updatedAt) {
		return t
	}
	return sv.updatedAt
}

// Reset puts the cloud back to its initial estate and clears tokens, faults
// and the request log (what POST /_sim/reset does).
func (s *Server) Reset() { s.reset() }

// currentPicker is the fault picker SetFaults installed last.
func (s *Server) currentPicker() *simfault.Picker {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.picker
}
