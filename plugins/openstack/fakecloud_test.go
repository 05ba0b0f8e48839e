package openstack

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/txtar"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

// fixture returns the file name of testdata/archive.txtar (whose comment
// says where each body comes from).
func fixture(t testing.TB, archive, name string) string {
	t.Helper()
	a, err := txtar.ParseFile(filepath.Join("testdata", archive+".txtar"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range a.Files {
		if f.Name == name {
			return string(f.Data)
		}
	}
	t.Fatalf("no %s in testdata/%s.txtar", name, archive)
	return ""
}

// fixtureJSON decodes a fixture, for tests that change a field.
func fixtureJSON(t testing.TB, archive, name string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(fixture(t, archive, name)), &m); err != nil {
		t.Fatalf("%s/%s: %v", archive, name, err)
	}
	return m
}

// edit applies f to a copy of a fixture and returns it as JSON.
func edit(t testing.TB, archive, name string, f func(m map[string]any)) string {
	t.Helper()
	m := fixtureJSON(t, archive, name)
	f(m)
	return mustJSON(t, m)
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The paths the fake cloud serves: the compute endpoint of the token
// fixture's catalog carries the project id, as many real catalogs do.
const (
	projectID   = "a99e9b4e620e4db09a2dfb6e42a01e66"
	computePath = "/compute/v2.1/" + projectID
	networkPath = "/network/v2.0"
	imagePath   = "/image/v2"
	tokenID     = "gAAAAABfake-token"
)

// seen is one request the fake cloud received.
type seen struct {
	Method string
	Path   string
	Query  string
	Header http.Header
	Body   string
}

// fakeCloud is Keystone, Nova, Neutron and Glance on one httptest server.
// Keystone answers the token fixture (catalog pointed at the server);
// Nova's version document says micro; every other answer is a route the
// test registers. Unrouted requests get Nova's 404 envelope.
type fakeCloud struct {
	t     testing.TB
	srv   *httptest.Server
	micro string // the compute version document's "version"

	mu       sync.Mutex
	routes   map[string]http.HandlerFunc
	prefixes []prefixRoute
	reqs     []seen
	quiet    bool // do not record requests (benchmarks)
}

type prefixRoute struct {
	method, prefix string
	h              http.HandlerFunc
}

func newFakeCloud(t testing.TB) *fakeCloud {
	fc := &fakeCloud{t: t, micro: "2.87", routes: map[string]http.HandlerFunc{}}
	fc.srv = httptest.NewServer(http.HandlerFunc(fc.serve))
	t.Cleanup(fc.srv.Close)
	return fc
}

// newFakeCloudTLS is newFakeCloud over HTTPS, with httptest's own CA.
func newFakeCloudTLS(t testing.TB) *fakeCloud {
	fc := &fakeCloud{t: t, micro: "2.87", routes: map[string]http.HandlerFunc{}}
	fc.srv = httptest.NewUnstartedServer(http.HandlerFunc(fc.serve))
	fc.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are the test
	fc.srv.StartTLS()
	t.Cleanup(fc.srv.Close)
	return fc
}

func (fc *fakeCloud) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	fc.mu.Lock()
	if !fc.quiet {
		fc.reqs = append(fc.reqs, seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)})
	}
	h := fc.routes[r.Method+" "+r.URL.Path]
	if h == nil {
		for _, pr := range fc.prefixes {
			if pr.method == r.Method && strings.HasPrefix(r.URL.Path, pr.prefix) {
				h = pr.h
				break
			}
		}
	}
	micro := fc.micro
	fc.mu.Unlock()
	r.Body = io.NopCloser(strings.NewReader(string(body)))
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/identity/v3/auth/tokens":
		w.Header().Set("X-Subject-Token", tokenID)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, fc.token())
		return
	case r.Method == http.MethodGet && r.URL.Path == "/compute/v2.1/":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, edit(fc.t, "compute", "version.json", func(m map[string]any) {
			m["version"].(map[string]any)["version"] = micro
		}))
		return
	case r.Method == http.MethodGet && r.URL.Path == "/network/":
		_, _ = io.WriteString(w, fixture(fc.t, "network", "versions.json"))
		return
	case r.Method == http.MethodGet && r.URL.Path == "/image/":
		_, _ = io.WriteString(w, fixture(fc.t, "image", "versions.json"))
		return
	case h != nil:
		if r.Header.Get("X-Auth-Token") != tokenID {
			fc.t.Errorf("%s %s: X-Auth-Token %q, want the token Keystone issued", r.Method, r.URL.Path, r.Header.Get("X-Auth-Token"))
		}
		w.Header().Set("Content-Type", "application/json")
		h(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusNotFound)
	_, _ = io.WriteString(w, fixture(fc.t, "nova_samples", "error_404.json"))
}

// token is the token fixture with its catalog pointed at the server, and
// network and image entries shaped like its compute entry.
func (fc *fakeCloud) token() string {
	// One pass: replacing in turn would rewrite the server's own URL when
	// its random port begins like a fixture's (50001 starts with 5000).
	raw := strings.NewReplacer(
		"http://127.0.0.1:8774", fc.srv.URL+"/compute",
		"http://127.0.0.1:5000", fc.srv.URL+"/identity",
		"http://127.0.0.1:35357", fc.srv.URL+"/identity",
	).Replace(fixture(fc.t, "identity", "token.json"))
	var m map[string]any
	if err := json.Unmarshal([]byte(raw), &m); err != nil {
		fc.t.Fatal(err)
	}
	tok := m["token"].(map[string]any)
	entry := func(typ, name, url string) map[string]any {
		var eps []any
		for _, iface := range []string{"admin", "internal", "public"} {
			eps = append(eps, map[string]any{"url": url, "interface": iface, "region": "RegionOne", "region_id": "RegionOne", "id": typ + "-" + iface})
		}
		return map[string]any{"endpoints": eps, "type": typ, "id": typ, "name": name}
	}
	tok["catalog"] = append(tok["catalog"].([]any),
		entry("network", "neutron", fc.srv.URL+"/network"),
		entry("image", "glance", fc.srv.URL+"/image"))
	return mustJSON(fc.t, m)
}

// on routes method path (no query) to h.
func (fc *fakeCloud) on(method, path string, h http.HandlerFunc) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.routes[method+" "+path] = h
}

// onPrefix routes method and every path under prefix (exact routes win).
func (fc *fakeCloud) onPrefix(method, prefix string, h http.HandlerFunc) {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	fc.prefixes = append(fc.prefixes, prefixRoute{method, prefix, h})
}

// reply routes method path to a fixed answer.
func (fc *fakeCloud) reply(method, path string, status int, body string) {
	fc.on(method, path, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	})
}

// sequence routes method path to answers in turn; the last repeats.
func (fc *fakeCloud) sequence(method, path string, status int, bodies ...string) {
	var mu sync.Mutex
	i := 0
	fc.on(method, path, func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		b := bodies[min(i, len(bodies)-1)]
		i++
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, b)
	})
}

// requests returns what was received for method path.
func (fc *fakeCloud) requests(method, path string) []seen {
	fc.mu.Lock()
	defer fc.mu.Unlock()
	var out []seen
	for _, r := range fc.reqs {
		if r.Method == method && r.Path == path {
			out = append(out, r)
		}
	}
	return out
}

// provider returns the openstack provider configured against the fake
// cloud (password auth; more attributes from extra), polling every 2ms.
func (fc *fakeCloud) provider(extra map[string]cty.Value) *sdk.Provider {
	fc.t.Helper()
	p := newProvider(func(string) string { return "" })
	cfg := map[string]cty.Value{
		"auth_url":      cty.StringVal(fc.srv.URL + "/identity/v3"),
		"username":      cty.StringVal("admin"),
		"password":      cty.StringVal("s3cret"),
		"project_name":  cty.StringVal("admin"),
		"poll_interval": cty.StringVal("2ms"),
	}
	for k, v := range extra {
		cfg[k] = v
	}
	if err := p.Configure(context.Background(), cty.ObjectVal(cfg)); err != nil {
		fc.t.Fatalf("Configure: %v", err)
	}
	return p
}

// call is the result of one Apply.
type call struct {
	out    cty.Value
	err    error
	events []provider.Event
}

func (c call) logs() []string {
	var out []string
	for _, ev := range c.events {
		if ev.Kind == provider.EventLog {
			out = append(out, ev.Level+": "+ev.Message)
		}
	}
	return out
}

func apply(t testing.TB, p provider.Provider, action string, in map[string]cty.Value) call {
	t.Helper()
	var mu sync.Mutex
	var c call
	req := &provider.Request{Action: action, Inputs: cty.ObjectVal(in), Events: func(ev provider.Event) {
		mu.Lock()
		c.events = append(c.events, ev)
		mu.Unlock()
	}}
	if len(in) == 0 {
		req.Inputs = cty.EmptyObjectVal
	}
	resp, err := p.Apply(context.Background(), req)
	c.err = err
	if err == nil {
		c.out = resp.Outputs
	}
	return c
}

// mustApply is apply that fails the test on an error.
func mustApply(t testing.TB, p provider.Provider, action string, in map[string]cty.Value) call {
	t.Helper()
	c := apply(t, p, action, in)
	if c.err != nil {
		t.Fatalf("%s: %v", action, c.err)
	}
	return c
}

// decode reads outputs into an output struct.
func decode[T any](t testing.TB, v cty.Value) T {
	t.Helper()
	var out T
	if err := gocty.FromCtyValue(v, &out); err != nil {
		t.Fatalf("decoding %T: %v", out, err)
	}
	return out
}

func str(s string) cty.Value { return cty.StringVal(s) }

// assertJSON fails unless got and want are the same JSON value.
func assertJSON(t testing.TB, what, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("%s: sent %q, not JSON: %v", what, got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("%s: want %q, not JSON: %v", what, want, err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s: sent\n  %s\nwant\n  %s", what, compact(got), compact(want))
	}
}

func compact(s string) string {
	var v any
	if json.Unmarshal([]byte(s), &v) != nil {
		return s
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// keysOf lists the keys of the object at path (a.b) in a JSON document.
func keysOf(t testing.TB, doc string, path ...string) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(doc), &v); err != nil {
		t.Fatal(err)
	}
	for _, p := range path {
		v = v.(map[string]any)[p]
	}
	var keys []string
	for k := range v.(map[string]any) {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// errAs is errors.As for a target type.
func errAs[T error](err error) (T, bool) {
	var t T
	ok := errors.As(err, &t)
	return t, ok
}

// providerErr unwraps an Apply error into the contract's error.
func providerErr(t testing.TB, err error) *provider.Error {
	t.Helper()
	pe, ok := errAs[*provider.Error](err)
	if !ok {
		t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
	}
	return pe
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if strings.Contains(x, s) {
			return true
		}
	}
	return false
}
