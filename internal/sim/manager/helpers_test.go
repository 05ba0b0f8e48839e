package manager

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

var t0 = time.Date(2024, 3, 13, 3, 0, 0, 0, time.UTC)

// sim is a simulator on a fake clock, called through its handler.
type sim struct {
	t     *testing.T
	srv   *Server
	clock *clockwork.FakeClock
}

func newSim(t *testing.T, opts Options) *sim {
	t.Helper()
	fc := clockwork.NewFakeClockAt(t0)
	opts.Clock = fc
	s := New(opts)
	t.Cleanup(s.Close)
	return &sim{t: t, srv: s, clock: fc}
}

// req is one request to build.
type req struct {
	method  string
	path    string // under /api/v3.1 unless it starts with "/"
	body    any    // JSON-encoded unless []byte or string
	user    string // "" means admin
	pass    string
	noAuth  bool
	token   string
	tenant  string
	ctype   string // default application/json when a body is given
	headers map[string]string
}

type res struct {
	t      *testing.T
	code   int
	header http.Header
	raw    []byte
}

func (r *res) json() map[string]any {
	r.t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.raw, &m); err != nil {
		r.t.Fatalf("response is not a JSON object: %v\n%s", err, r.raw)
	}
	return m
}

func (r *res) items() []any {
	r.t.Helper()
	items, ok := r.json()["items"].([]any)
	if !ok {
		r.t.Fatalf("no items in %s", r.raw)
	}
	return items
}

// wantError checks an error body: status, error_code, message, null traceback.
func (r *res) wantError(status int, code, message string) {
	r.t.Helper()
	if r.code != status {
		r.t.Fatalf("status = %d, want %d; body %s", r.code, status, r.raw)
	}
	m := r.json()
	if m["error_code"] != code {
		r.t.Fatalf("error_code = %v, want %s; body %s", m["error_code"], code, r.raw)
	}
	if message != "" && m["message"] != message {
		r.t.Fatalf("message = %q\nwant      %q", m["message"], message)
	}
	if tb, ok := m["server_traceback"]; !ok || tb != nil {
		r.t.Fatalf("server_traceback = %v (present %v), want null", tb, ok)
	}
}

func (r *res) want(status int) *res {
	r.t.Helper()
	if r.code != status {
		r.t.Fatalf("status = %d, want %d; body %s", r.code, status, r.raw)
	}
	return r
}

func (s *sim) do(q req) *res {
	s.t.Helper()
	return doHandler(s.t, s.srv, q)
}

func buildRequest(t *testing.T, base string, q req) *http.Request {
	t.Helper()
	path := q.path
	if !strings.HasPrefix(path, "/") {
		path = "/api/v3.1/" + path
	}
	var body io.Reader
	ctype := q.ctype
	switch b := q.body.(type) {
	case nil:
	case []byte:
		body = bytes.NewReader(b)
	case string:
		body = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		body = bytes.NewReader(enc)
		if ctype == "" {
			ctype = "application/json"
		}
	}
	method := q.method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequest(method, base+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" && ctype != "none" {
		r.Header.Set("Content-Type", ctype)
	}
	switch {
	case q.noAuth:
	case q.token != "":
		r.Header.Set("Authentication-Token", q.token)
	case q.user != "":
		r.SetBasicAuth(q.user, q.pass)
	default:
		r.SetBasicAuth("admin", "admin")
	}
	if q.tenant != "" {
		r.Header.Set("Tenant", q.tenant)
	} else {
		r.Header.Set("Tenant", defaultTenant)
	}
	for k, v := range q.headers {
		r.Header.Set(k, v)
	}
	return r
}

func doHandler(t *testing.T, h http.Handler, q req) *res {
	t.Helper()
	r := buildRequest(t, "http://sim.test", q)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return &res{t: t, code: w.Code, header: w.Header(), raw: w.Body.Bytes()}
}

// advance moves the fake clock forward.
func (s *sim) advance(d time.Duration) { s.clock.Advance(d) }

// execStatus reads an execution's status.
func (s *sim) execStatus(id string) string {
	s.t.Helper()
	r := s.do(req{path: "executions/" + id}).want(http.StatusOK)
	return r.json()["status"].(string)
}

func mustEstate(t *testing.T, js string) *Estate {
	t.Helper()
	e, err := ParseEstate([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return e
}
