package docker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/internal/dockertest"
	"github.com/runbook-dev/runbook/plugins/docker"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/providertest"
)

// callTimeout bounds each call of the provider in tests.
const callTimeout = 60 * time.Second

// val converts test values to cty (providertest.Val).
var val = providertest.Val

// obj is val of a map, for inputs and configurations.
type obj = map[string]any

// harness is one configured provider and a client of the same engine, for
// setting up and verifying behind the provider's back.
type harness struct {
	t   *testing.T
	cli *client.Client
	p   provider.Provider
}

// newHarness gates the test on a Docker engine and configures the
// provider with config (nil: the environment's engine).
func newHarness(t *testing.T, config obj) *harness {
	t.Helper()
	cli := dockertest.Client(t)
	return &harness{t: t, cli: cli, p: configured(t, config)}
}

func configured(t *testing.T, config obj) provider.Provider {
	t.Helper()
	p := docker.New()
	if config == nil {
		config = obj{}
	}
	if err := p.Configure(context.Background(), val(config)); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	t.Cleanup(func() { _ = p.Close() })
	return p
}

// result is one Apply: its outputs, its events and its error.
type result struct {
	out    cty.Value
	events []provider.Event
	err    error
}

func (r *result) logs() string {
	var b strings.Builder
	for _, ev := range r.events {
		if ev.Kind == provider.EventLog {
			fmt.Fprintf(&b, "%s: %s\n", ev.Level, ev.Message)
		}
	}
	return b.String()
}

func (r *result) str(name string) string { return str(r.out, name) }

func str(v cty.Value, name string) string {
	a := v.GetAttr(name)
	if a.IsNull() || !a.IsKnown() {
		return ""
	}
	return a.AsString()
}

func apply(ctx context.Context, p provider.Provider, action string, in obj) *result {
	out, events, err := providertest.Apply(ctx, p, action, val(in))
	return &result{out: out, events: events, err: err}
}

// apply runs action and fails the test on an error.
func (h *harness) apply(action string, in obj) *result {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	res := apply(ctx, h.p, action, in)
	if res.err != nil {
		h.t.Fatalf("%s: %v\nlog:\n%s", action, res.err, res.logs())
	}
	return res
}

// fail runs action and returns its error, failing the test if it succeeds.
func (h *harness) fail(action string, in obj) *provider.Error {
	h.t.Helper()
	return failOn(h.t, h.p, action, in)
}

func failOn(t *testing.T, p provider.Provider, action string, in obj) *provider.Error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	res := apply(ctx, p, action, in)
	if res.err == nil {
		t.Fatalf("%s succeeded with %#v, want an error", action, res.out)
	}
	var pe *provider.Error
	if !errors.As(res.err, &pe) {
		t.Fatalf("%s: %T %v is not a *provider.Error", action, res.err, res.err)
	}
	return pe
}

func plan(p provider.Provider, action string, in obj) (cty.Value, error) {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := p.Plan(ctx, &provider.Request{Action: action, Inputs: val(in)})
	if err != nil {
		return cty.NilVal, err
	}
	return resp.Outputs, nil
}

func (h *harness) check(action string, in obj, started time.Time) *provider.CheckResponse {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	resp, err := h.p.Check(ctx, &provider.CheckRequest{Request: provider.Request{Action: action, Inputs: val(in)}, Started: started})
	if err != nil {
		h.t.Fatalf("Check %s: %v", action, err)
	}
	return resp
}

// wantCheck checks a Check's answer.
func (h *harness) wantCheck(action string, in obj, started time.Time, want provider.CheckResult) *provider.CheckResponse {
	h.t.Helper()
	resp := h.check(action, in, started)
	if resp.Result != want {
		h.t.Errorf("Check %s %v: %v, want %v", action, in, resp.Result, want)
	}
	return resp
}

// wantError checks a failure's message parts and retryable flag.
func wantError(t *testing.T, pe *provider.Error, retryable bool, parts ...string) {
	t.Helper()
	if pe.Retryable != retryable {
		t.Errorf("retryable = %v, want %v: %v", pe.Retryable, retryable, pe)
	}
	for _, p := range parts {
		if !strings.Contains(pe.Error(), p) {
			t.Errorf("error %q does not contain %q", pe.Error(), p)
		}
	}
}

// strs reads a list of strings, sorted.
func strs(v cty.Value) []string {
	var out []string
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		out = append(out, e.AsString())
	}
	sort.Strings(out)
	return out
}

// objects reads a list of objects as maps of their string attributes.
func objects(v cty.Value) []map[string]string {
	var out []map[string]string
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		m := map[string]string{}
		for k, a := range e.AsValueMap() {
			if a.Type() == cty.String && !a.IsNull() {
				m[k] = a.AsString()
			}
		}
		out = append(out, m)
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// proxy stands between the provider and the engine on a unix socket of
// its own: it records every request and answers the ones a fault names
// with an error instead of passing them on.
type proxy struct {
	Host string // unix://... for the provider's host

	mu     sync.Mutex
	reqs   []string
	faults map[string]int // path prefix, without the API version -> status
}

var versionPrefix = regexp.MustCompile(`^/v[0-9.]+/`)

// startProxy starts a proxy to the engine cli talks to (a unix socket or
// plain tcp).
func startProxy(t *testing.T, cli *client.Client) *proxy {
	t.Helper()
	target, err := client.ParseHostURL(cli.DaemonHost())
	if err != nil || (target.Scheme != "unix" && target.Scheme != "tcp") || os.Getenv("DOCKER_TLS_VERIFY") != "" {
		t.Skipf("the recording proxy needs a plain unix or tcp engine, not %s", cli.DaemonHost())
	}
	// Socket paths are limited to about 100 bytes: t.TempDir's are long.
	dir, err := os.MkdirTemp("", "rbdk")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(dir) })
	sock := filepath.Join(dir, "d.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{Host: "unix://" + sock, faults: map[string]int{}}
	rp := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.Out.URL.Scheme, r.Out.URL.Host = "http", "docker"
		},
		Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, target.Scheme, target.Host)
		}},
		FlushInterval: -1,
	}
	srv := &http.Server{Handler: p.handler(rp), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return p
}

func (p *proxy) handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path := "/" + versionPrefix.ReplaceAllString(r.URL.Path, "")
		p.mu.Lock()
		p.reqs = append(p.reqs, r.Method+" "+path)
		status := 0
		for prefix, s := range p.faults {
			if strings.HasPrefix(path, prefix) {
				status = s
			}
		}
		p.mu.Unlock()
		if status == 0 {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": fmt.Sprintf("injected %d for %s", status, path)})
	})
}

// fault answers requests whose path (without the API version) starts with
// prefix with status, until cleared with status 0.
func (p *proxy) fault(prefix string, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if status == 0 {
		delete(p.faults, prefix)
		return
	}
	p.faults[prefix] = status
}

// requests returns the requests received so far.
func (p *proxy) requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.reqs...)
}

func mutating(reqs []string) []string {
	var out []string
	for _, r := range reqs {
		if !strings.HasPrefix(r, "GET ") && !strings.HasPrefix(r, "HEAD ") {
			out = append(out, r)
		}
	}
	return out
}
