package openstack

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

// sim is a simulator on a fake clock behind an httptest server (loopback).
type sim struct {
	t     *testing.T
	srv   *Server
	clock *clockwork.FakeClock
	url   string
	hc    *http.Client
	tok   string // admin token, issued lazily
}

func newSim(t *testing.T, opts Options) *sim {
	t.Helper()
	return newSimAt(t, opts, t0)
}

func newSimAt(t *testing.T, opts Options, at time.Time) *sim {
	t.Helper()
	fc := clockwork.NewFakeClockAt(at)
	opts.Clock = fc
	s := New(opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &sim{t: t, srv: s, clock: fc, url: ts.URL, hc: &http.Client{Timeout: 10 * time.Second}}
}

func mustEstate(t *testing.T, js string) *Estate {
	t.Helper()
	e, err := ParseEstate([]byte(js))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// res is a response.
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

func (r *res) want(status int) *res {
	r.t.Helper()
	if r.code != status {
		r.t.Fatalf("status = %d, want %d; body %s", r.code, status, r.raw)
	}
	return r
}

// wantFault checks a Nova fault body.
func (r *res) wantFault(status int, name, message string) {
	r.t.Helper()
	r.want(status)
	f, ok := r.json()[name].(map[string]any)
	if !ok {
		r.t.Fatalf("no %q fault in %s", name, r.raw)
	}
	if int(f["code"].(float64)) != status {
		r.t.Fatalf("fault code = %v, want %d", f["code"], status)
	}
	if message != "" && f["message"] != message {
		r.t.Fatalf("message = %q\nwant      %q", f["message"], message)
	}
}

// wantNeutron checks a NeutronError body.
func (r *res) wantNeutron(status int, typ, message string) {
	r.t.Helper()
	r.want(status)
	f, ok := r.json()["NeutronError"].(map[string]any)
	if !ok {
		r.t.Fatalf("no NeutronError in %s", r.raw)
	}
	if f["type"] != typ || (message != "" && f["message"] != message) {
		r.t.Fatalf("NeutronError = %v, want type %s message %q", f, typ, message)
	}
}

type req struct {
	method  string
	path    string
	body    any // JSON-encoded unless string
	token   string
	noAuth  bool
	mv      string // Nova microversion
	headers map[string]string
}

func (s *sim) do(q req) *res {
	s.t.Helper()
	var body io.Reader
	switch b := q.body.(type) {
	case nil:
	case string:
		body = strings.NewReader(b)
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			s.t.Fatal(err)
		}
		body = bytes.NewReader(enc)
	}
	method := q.method
	if method == "" {
		method = http.MethodGet
	}
	r, err := http.NewRequest(method, s.url+q.path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if body != nil {
		r.Header.Set("Content-Type", "application/json")
	}
	if !q.noAuth {
		tok := q.token
		if tok == "" {
			tok = s.adminToken()
		}
		r.Header.Set("X-Auth-Token", tok)
	}
	if q.mv != "" {
		r.Header.Set("OpenStack-API-Version", "compute "+q.mv)
	}
	for k, v := range q.headers {
		r.Header.Set(k, v)
	}
	resp, err := s.hc.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return &res{t: s.t, code: resp.StatusCode, header: resp.Header, raw: raw}
}

// login issues a project-scoped password token.
func (s *sim) login(user, password, project string) *res {
	s.t.Helper()
	return s.do(req{method: "POST", path: "/v3/auth/tokens", noAuth: true, body: map[string]any{
		"auth": map[string]any{
			"identity": map[string]any{"methods": []string{"password"}, "password": map[string]any{
				"user": map[string]any{"name": user, "domain": map[string]any{"name": "Default"}, "password": password}}},
			"scope": map[string]any{"project": map[string]any{"name": project, "domain": map[string]any{"id": "default"}}},
		}}})
}

func (s *sim) adminToken() string {
	if s.tok == "" {
		r := s.login("admin", "admin", "admin").want(http.StatusCreated)
		s.tok = r.header.Get("X-Subject-Token")
	}
	return s.tok
}

// advance moves the fake clock forward.
func (s *sim) advance(d time.Duration) { s.clock.Advance(d) }

// server reads a server's detail as admin.
func (s *sim) server(id string, mv string) map[string]any {
	s.t.Helper()
	return s.do(req{path: "/compute/v2.1/servers/" + id, mv: mv}).want(http.StatusOK).json()["server"].(map[string]any)
}
