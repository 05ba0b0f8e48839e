// Package simfault is what the simulators (internal/sim/manager and
// internal/sim/openstack) do alike with the faults a test or a drill asks
// for through POST /_sim/faults, and with the query strings their request
// logs keep. Each simulator keeps its own API-specific faults (failing
// workflows, hosts going down) and error bodies.
package simfault

import (
	"bufio"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Rule applies to API requests whose path starts with PathPrefix (and
// whose method is Method, when set). Each matching request draws, in order:
// a drop with probability DropRate (the connection is hijacked and closed),
// else an error with probability ErrorRate (status ErrorStatus, default
// 500). Latency is added before either: to every matching request, or,
// when LatencyRate is set, to that fraction of them (latency spikes). Times
// > 0 limits how many requests the rule affects.
type Rule struct {
	PathPrefix  string  `json:"path_prefix"`
	Method      string  `json:"method,omitempty"`
	ErrorRate   float64 `json:"error_rate,omitempty"`
	ErrorStatus int     `json:"error_status,omitempty"`
	DropRate    float64 `json:"drop_rate,omitempty"`
	Latency     string  `json:"latency,omitempty"`
	LatencyRate float64 `json:"latency_rate,omitempty"`
	Times       int     `json:"times,omitempty"`
}

// Fault is what the rules do to one request.
type Fault struct {
	Kind    string // "error", "drop" or "latency"
	Status  int
	Latency time.Duration
}

// Picker applies rules to requests. Its decisions come from a generator
// seeded with the given seed, so the same requests in the same order meet
// the same faults. It is safe for concurrent use.
type Picker struct {
	mu    sync.Mutex
	rules []Rule
	uses  map[int]int // rule index -> times applied
	rng   *rand.Rand
}

// NewPicker returns a picker for rules.
func NewPicker(seed uint64, rules []Rule) *Picker {
	return &Picker{rules: rules, uses: map[int]int{}, rng: rand.New(rand.NewPCG(seed, 0x6661756c7473))}
}

// Pick decides what the rules do to r: nil when nothing.
func (p *Picker) Pick(r *http.Request) *Fault {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, rule := range p.rules {
		if !strings.HasPrefix(r.URL.Path, rule.PathPrefix) || (rule.Method != "" && !strings.EqualFold(rule.Method, r.Method)) {
			continue
		}
		if rule.Times > 0 && p.uses[i] >= rule.Times {
			continue
		}
		f := &Fault{}
		// The latency draw happens only for a rate strictly between 0 and
		// 1, so rules without one meet the same decisions for a seed as
		// before latency_rate existed.
		if rule.Latency != "" && (rule.LatencyRate <= 0 || rule.LatencyRate >= 1 || p.rng.Float64() < rule.LatencyRate) {
			f.Latency, _ = time.ParseDuration(rule.Latency)
			if f.Latency > 0 {
				f.Kind = "latency"
			}
		}
		switch {
		case rule.DropRate > 0 && p.rng.Float64() < rule.DropRate:
			f.Kind = "drop"
		case rule.ErrorRate > 0 && p.rng.Float64() < rule.ErrorRate:
			f.Kind = "error"
			f.Status = rule.ErrorStatus
			if f.Status == 0 {
				f.Status = http.StatusInternalServerError
			}
		}
		if f.Kind == "" {
			continue
		}
		p.uses[i]++
		return f
	}
	return nil
}

// RedactQuery copies a query for the request log, with the values of
// parameters named like passwords, tokens or secrets replaced.
func RedactQuery(q url.Values) map[string][]string {
	if len(q) == 0 {
		return nil
	}
	out := map[string][]string{}
	for k, vs := range q {
		lk := strings.ToLower(k)
		if strings.Contains(lk, "password") || strings.Contains(lk, "token") || strings.Contains(lk, "secret") {
			out[k] = []string{"REDACTED"}
			continue
		}
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Validate checks rules before a simulator installs them.
func Validate(rules []Rule) error {
	for i, rule := range rules {
		if rule.Latency != "" {
			if d, err := time.ParseDuration(rule.Latency); err != nil || d < 0 {
				return fmt.Errorf("faults: rules[%d].latency %q is not a duration", i, rule.Latency)
			}
		}
		if rule.ErrorRate < 0 || rule.ErrorRate > 1 || rule.DropRate < 0 || rule.DropRate > 1 || rule.LatencyRate < 0 || rule.LatencyRate > 1 {
			return fmt.Errorf("faults: rules[%d]: rates are between 0 and 1", i)
		}
		if rule.ErrorStatus != 0 && (rule.ErrorStatus < 500 || rule.ErrorStatus > 599) {
			return fmt.Errorf("faults: rules[%d].error_status %d is not a 5xx", i, rule.ErrorStatus)
		}
	}
	return nil
}

// Recorder remembers the status a handler wrote, for the request log, and
// lets it drop the connection (a dropped-connection fault, a manager that
// is restarting).
type Recorder struct {
	http.ResponseWriter
	Status  int
	Dropped bool
}

// WriteHeader implements http.ResponseWriter.
func (r *Recorder) WriteHeader(code int) {
	if r.Status == 0 {
		r.Status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

// Write implements http.ResponseWriter.
func (r *Recorder) Write(b []byte) (int, error) {
	if r.Status == 0 {
		r.Status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (r *Recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// Hijack implements http.Hijacker.
func (r *Recorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("hijack not supported")
	}
	return hj.Hijack()
}

// Drop closes the client's connection without an answer.
func (r *Recorder) Drop() {
	r.Dropped = true
	if conn, _, err := r.Hijack(); err == nil {
		_ = conn.Close()
		return
	}
	panic(http.ErrAbortHandler)
}
