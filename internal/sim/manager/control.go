package manager

import (
	"fmt"
	"net/http"
	"time"

	"github.com/runbook-dev/runbook/internal/sim/simfault"
)

// RequestRecord is one API request as GET /_sim/requests reports it. It
// never holds the Authorization or Authentication-Token values, passwords or
// bodies; query values whose names look secret are replaced by "REDACTED".
type RequestRecord struct {
	Method string              `json:"method"`
	Path   string              `json:"path"`
	Query  map[string][]string `json:"query,omitempty"`
	Status int                 `json:"status"`
	Time   time.Time           `json:"time"`
	// Auth is how the request authenticated: "basic", "token" or "".
	Auth string `json:"auth,omitempty"`
	// Fault names what the simulator did instead of answering normally:
	// "error", "drop", "latency", "restarting".
	Fault   string `json:"fault,omitempty"`
	Dropped bool   `json:"dropped,omitempty"`
}

// Requests returns a copy of the request log.
func (s *Server) Requests() []RequestRecord { return s.log.All() }

func authKind(r *http.Request) string {
	if _, _, ok := r.BasicAuth(); ok {
		return "basic"
	}
	if r.Header.Get("Authentication-Token") != "" {
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
	// FailWorkflows makes executions of these workflows (create_snapshot,
	// restore_snapshot, install_new_agents, update_plugin, ...) end failed
	// with the given error ("" for a default message). It applies to
	// executions created after it is set.
	FailWorkflows map[string]string `json:"fail_workflows,omitempty"`
	// ClusterNodes sets manager nodes' status ("OK" or "Fail") for
	// /cluster-status, /status and /ok (the first node is the one answering).
	ClusterNodes map[string]string `json:"cluster_nodes,omitempty"`
}

// FaultRule is one rule of Faults (simfault.Rule).
type FaultRule = simfault.Rule

// faultResponse is what an injected 5xx looks like: the REST service's JSON
// for 500, nginx's page for the gateway errors.
func faultResponse(status int) *response {
	switch status {
	case http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return nginxPage(status)
	}
	return errResp(errf(status, "internal_server_error", "Internal Server Error (simulated fault)"))
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
			return map[string]any{"message": msg, "error_code": "sim_control_error", "server_traceback": nil}
		},
	}
	c.ServeHTTP(w, r)
}

// SetFaults installs a fault set (what POST /_sim/faults does).
func (s *Server) SetFaults(f Faults) error {
	if err := simfault.Validate(f.Rules); err != nil {
		return err
	}
	for host, st := range f.ClusterNodes {
		if st != statusOK && st != statusFail {
			return fmt.Errorf("faults: cluster_nodes[%q] = %q: want OK or Fail", host, st)
		}
	}
	if len(f.ClusterNodes) > 0 {
		s.mu.Lock()
		for host, st := range f.ClusterNodes {
			found := false
			for _, n := range s.st.managers {
				if n.hostname == host {
					n.status, found = st, true
				}
			}
			if !found {
				s.mu.Unlock()
				return fmt.Errorf("faults: cluster_nodes: no manager %q", host)
			}
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

// Reset puts the manager back to its initial estate and clears faults and
// the request log (what POST /_sim/reset does).
func (s *Server) Reset() { s.reset() }

// currentPicker is the fault picker SetFaults installed last.
func (s *Server) currentPicker() *simfault.Picker {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	return s.picker
}
