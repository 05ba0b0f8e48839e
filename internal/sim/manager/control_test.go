package manager

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"
)

// live is a simulator behind a real listener (httptest) on a fake clock.
type live struct {
	*sim
	url string
	hc  *http.Client
}

func newLive(t *testing.T, opts Options) *live {
	t.Helper()
	s := newSim(t, opts)
	ts := httptest.NewServer(s.srv)
	t.Cleanup(ts.Close)
	// No keep-alive: Go's transport silently retries an idempotent request
	// whose reused connection was dropped, which would hide the drop.
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	return &live{sim: s, url: ts.URL, hc: hc}
}

func (l *live) get(q req) (*http.Response, []byte, error) {
	l.t.Helper()
	r := buildRequest(l.t, l.url, q)
	resp, err := l.hc.Do(r)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return resp, b, err
}

func (l *live) control(method, path string, body string) []byte {
	l.t.Helper()
	r, err := http.NewRequest(method, l.url+path, strings.NewReader(body))
	if err != nil {
		l.t.Fatal(err)
	}
	resp, err := l.hc.Do(r)
	if err != nil {
		l.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		l.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	return b
}

func TestFaultsErrorsDropsLatency(t *testing.T) {
	l := newLive(t, Options{})
	l.control("POST", "/_sim/faults", `{"rules": [
	  {"path_prefix": "/api/v3.1/snapshots", "error_rate": 1, "times": 2},
	  {"path_prefix": "/api/v3.1/executions", "error_rate": 1, "error_status": 503, "times": 1},
	  {"path_prefix": "/api/v3.1/events", "drop_rate": 1, "times": 1},
	  {"path_prefix": "/api/v3.1/blueprints", "latency": "30ms", "times": 1}
	]}`)
	for i := 0; i < 2; i++ {
		resp, b, err := l.get(req{path: "snapshots"})
		if err != nil || resp.StatusCode != 500 || !bytes.Contains(b, []byte(`"error_code":"internal_server_error"`)) {
			t.Fatalf("injected 500 #%d: %v %v %s", i, err, resp, b)
		}
	}
	if resp, _, err := l.get(req{path: "snapshots"}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("after times ran out: %v %v", err, resp)
	}
	resp, b, err := l.get(req{path: "executions"})
	if err != nil || resp.StatusCode != 503 || !bytes.Contains(b, []byte("503 Service Temporarily Unavailable")) && !bytes.Contains(b, []byte("503 Service Unavailable")) {
		t.Fatalf("injected 503: %v %v %s", err, resp, b)
	}
	if _, _, err := l.get(req{path: "events"}); err == nil {
		t.Fatal("a dropped connection answered")
	}
	start := time.Now()
	if resp, _, err := l.get(req{path: "blueprints"}); err != nil || resp.StatusCode != 200 || time.Since(start) < 30*time.Millisecond {
		t.Fatalf("latency: %v %v after %v", err, resp, time.Since(start))
	}
	var got Faults
	if err := json.Unmarshal(l.control("GET", "/_sim/faults", ""), &got); err != nil || len(got.Rules) != 4 {
		t.Fatalf("GET /_sim/faults: %v %+v", err, got)
	}
	// The log says what happened to each request.
	var recs []RequestRecord
	if err := json.Unmarshal(l.control("GET", "/_sim/requests", ""), &recs); err != nil {
		t.Fatal(err)
	}
	faults := map[string]int{}
	for _, r := range recs {
		faults[r.Fault]++
		if r.Fault == "drop" && (!r.Dropped || r.Status != 0) {
			t.Fatalf("dropped record %+v", r)
		}
	}
	if faults["error"] != 3 || faults["drop"] != 1 || faults["latency"] != 1 {
		t.Fatalf("fault counts %v in %+v", faults, recs)
	}
	// Bad fault sets are refused.
	for _, bad := range []string{`{"rules": [{"path_prefix": "/", "error_rate": 2}]}`, `{"rules": [{"latency": "soon"}]}`, `{"nope": 1}`,
		`{"rules": [{"path_prefix": "/", "error_rate": 1, "error_status": 404}]}`} {
		r, _ := http.NewRequest("POST", l.url+"/_sim/faults", strings.NewReader(bad))
		resp, err := l.hc.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("fault set %s: %d", bad, resp.StatusCode)
		}
	}
}

func TestFaultsAreDeterministic(t *testing.T) {
	run := func() []int {
		s := newSim(t, Options{})
		if err := s.srv.SetFaults(Faults{Seed: 42, Rules: []FaultRule{{PathPrefix: "/api/v3.1/", ErrorRate: 0.5}}}); err != nil {
			t.Fatal(err)
		}
		var codes []int
		for i := 0; i < 40; i++ {
			codes = append(codes, s.do(req{path: "version"}).code)
		}
		return codes
	}
	a, b := run(), run()
	fails := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("run 1 %v\nrun 2 %v", a, b)
		}
		if a[i] == 500 {
			fails++
		}
	}
	if fails == 0 || fails == len(a) {
		t.Fatalf("rate 0.5 gave %d failures of %d", fails, len(a))
	}
}

func TestRequestLogHidesSecrets(t *testing.T) {
	l := newLive(t, Options{Estate: mustEstate(t, `{"users": [{"username": "admin", "password": "Sup3rSecret!", "role": "sys_admin"}]}`)})
	l.get(req{path: "version", user: "admin", pass: "Sup3rSecret!"})
	l.get(req{path: "version?password=Sup3rSecret!&_include=version", user: "admin", pass: "Sup3rSecret!"})
	_, b, _ := l.get(req{method: "POST", path: "tokens", body: map[string]any{"description": "x"}, user: "admin", pass: "Sup3rSecret!"})
	var tok map[string]any
	if err := json.Unmarshal(b, &tok); err != nil {
		t.Fatalf("token: %v %s", err, b)
	}
	value := tok["value"].(string)
	l.get(req{path: "executions", token: value})
	l.get(req{path: "version", user: "admin", pass: "wrong"})

	raw := l.control("GET", "/_sim/requests", "")
	basic := base64.StdEncoding.EncodeToString([]byte("admin:Sup3rSecret!"))
	for _, secret := range []string{"Sup3rSecret!", basic, value, strings.SplitN(value, "-", 3)[2], "wrong"} {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("the request log contains %q:\n%s", secret, raw)
		}
	}
	var recs []RequestRecord
	if err := json.Unmarshal(raw, &recs); err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 {
		t.Fatalf("%d records: %s", len(recs), raw)
	}
	want := []struct {
		method, path, auth string
		status             int
	}{
		{"GET", "/api/v3.1/version", "basic", 200},
		{"GET", "/api/v3.1/version", "basic", 200},
		{"POST", "/api/v3.1/tokens", "basic", 200},
		{"GET", "/api/v3.1/executions", "token", 200},
		{"GET", "/api/v3.1/version", "basic", 401},
	}
	for i, w := range want {
		r := recs[i]
		if r.Method != w.method || r.Path != w.path || r.Auth != w.auth || r.Status != w.status || r.Time.IsZero() {
			t.Fatalf("record %d = %+v, want %+v", i, r, w)
		}
	}
	if q := recs[1].Query; q["password"][0] != "REDACTED" || q["_include"][0] != "version" {
		t.Fatalf("query %v", q)
	}
}

func TestReset(t *testing.T) {
	l := newLive(t, Options{})
	l.get(req{method: "PUT", path: "snapshots/s1", body: map[string]any{}})
	l.control("POST", "/_sim/faults", `{"rules": [{"path_prefix": "/api/v3.1/version", "error_rate": 1}]}`)
	l.control("POST", "/_sim/reset", "")
	if resp, _, err := l.get(req{path: "snapshots/s1"}); err != nil || resp.StatusCode != 404 {
		t.Fatalf("snapshot after reset: %v %v", err, resp)
	}
	if resp, _, err := l.get(req{path: "version"}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("faults after reset: %v %v", err, resp)
	}
	var recs []RequestRecord
	_ = json.Unmarshal(l.control("GET", "/_sim/requests", ""), &recs)
	if len(recs) != 2 {
		t.Fatalf("log after reset: %+v", recs)
	}
	r, _ := http.NewRequest("GET", l.url+"/_sim/reset", nil)
	resp, err := l.hc.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("GET /_sim/reset: %d", resp.StatusCode)
	}
}

// TestRestartRefusesConnections runs Start: during the restore's restart
// window the port refuses connections, then the manager answers again on
// the same address.
func TestRestartRefusesConnections(t *testing.T) {
	fc := clockwork.NewFakeClockAt(t0)
	srv := New(Options{Clock: fc, Estate: mustEstate(t, restoreEstate)})
	defer srv.Close()
	base, err := srv.Start("")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	get := func(q req) (*http.Response, error) {
		resp, err := hc.Do(buildRequest(t, base, q))
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
		return resp, err
	}
	if resp, err := get(req{method: "POST", path: "snapshots/nightly/restore", body: map[string]any{"force": true}}); err != nil || resp.StatusCode != 200 {
		t.Fatalf("restore: %v %v", err, resp)
	}
	fc.Advance(20 * time.Millisecond)
	if resp, err := get(req{path: "blueprints"}); err != nil || resp.StatusCode != 503 {
		t.Fatalf("while restoring: %v %v", err, resp)
	}
	fc.Advance(50 * time.Millisecond) // into the restart window
	waitFor(t, func() bool {
		_, err := net.DialTimeout("tcp", strings.TrimPrefix(base, "http://"), time.Second)
		return errors.Is(err, syscall.ECONNREFUSED)
	}, "connections refused")
	if _, err := get(req{path: "snapshot-status", noAuth: true}); err == nil {
		t.Fatal("the restarting manager answered")
	}
	fc.Advance(100 * time.Millisecond) // back up
	waitFor(t, func() bool {
		resp, err := get(req{path: "snapshot-status", noAuth: true})
		return err == nil && resp.StatusCode == 200
	}, "the manager answers again")
}

func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if cond() {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("timed out waiting for: %s", what)
}

func TestRunPrintsURLAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"--listen", "127.0.0.1:0"}, pw, &stderr) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	resp, err := http.Get(base + "/api/v3.1/ok")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/ok: %d", resp.StatusCode)
	}
	r, _ := http.NewRequest("GET", base+"/api/v3.1/version", nil)
	r.SetBasicAuth("admin", "admin")
	r.Header.Set("Tenant", "default_tenant")
	resp, err = http.DefaultClient.Do(r)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("default estate: admin/admin got %d", resp.StatusCode)
	}
	cancel()
	_ = pw.Close()
	if code := <-done; code != 0 {
		t.Fatalf("exit code %d, stderr %s", code, stderr.String())
	}

	for _, args := range [][]string{{"--generation", "4.0"}, {"extra"}, {"--nope"}} {
		if code := Run(context.Background(), args, io.Discard, io.Discard); code != 2 {
			t.Fatalf("Run(%v) = %d, want 2", args, code)
		}
	}
	if code := Run(context.Background(), []string{"--estate", "/nonexistent.json"}, io.Discard, io.Discard); code != 1 {
		t.Fatalf("missing estate: %d", code)
	}
}

// TestDocExamples parses the estate and fault examples of
// docs/simulators.md, so that the documentation stays true.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/simulators.md")
	if err != nil {
		t.Skipf("docs/simulators.md: %v", err)
	}
	text := string(doc)
	block := func(after string) string {
		i := strings.Index(text, after)
		if i < 0 {
			t.Skipf("docs/simulators.md has no %q", after)
		}
		rest := text[i:]
		start := strings.Index(rest, "```json\n")
		end := strings.Index(rest[start+8:], "```")
		if start < 0 || end < 0 {
			t.Fatalf("no json block after %q", after)
		}
		return rest[start+8 : start+8+end]
	}
	est, err := ParseEstate([]byte(block("### Estate format")))
	if err != nil {
		t.Fatalf("the documented estate does not parse: %v", err)
	}
	s := newSim(t, Options{Estate: est})
	s.do(req{path: "version", user: "oper", pass: "s3cret"}).want(200)
	s.do(req{path: "executions", token: "ctok-drill01-abc123"}).want(200)
	if cs := s.do(req{path: "cluster-status"}).want(200).json(); cs["status"] != "Degraded" {
		t.Fatalf("documented cluster: %v", cs)
	}
	var f Faults
	dec := json.NewDecoder(strings.NewReader(strings.TrimSpace(strings.ReplaceAll(block("POST /_sim/faults"), "\n  ", "\n"))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("the documented faults do not decode: %v", err)
	}
	if err := s.srv.SetFaults(f); err != nil {
		t.Fatalf("the documented faults are refused: %v", err)
	}
}

// TestRealClockDrill runs a whole backup and restore on the real clock
// through a real listener, polling as a runbook would: create, wait for
// created, download, upload to a fresh manager, restore, ride out the 503s
// and the refused connections, and see the contents back.
func TestRealClockDrill(t *testing.T) {
	old := New(Options{Estate: mustEstate(t, `{"blueprints": [{"id": "bp"}], "deployments": [{"id": "dep", "blueprint_id": "bp"}]}`)})
	defer old.Close()
	oldURL, err := old.Start("")
	if err != nil {
		t.Fatal(err)
	}
	fresh := New(Options{})
	defer fresh.Close()
	freshURL, err := fresh.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	call := func(base string, q req) (int, []byte, error) {
		resp, err := hc.Do(buildRequest(t, base, q))
		if err != nil {
			return 0, nil, err
		}
		defer func() { _ = resp.Body.Close() }()
		b, err := io.ReadAll(resp.Body)
		return resp.StatusCode, b, err
	}
	if code, b, err := call(oldURL, req{method: "PUT", path: "snapshots/drill", body: map[string]any{}}); err != nil || code != 201 {
		t.Fatalf("create: %d %s %v", code, b, err)
	}
	waitFor(t, func() bool {
		_, b, err := call(oldURL, req{path: "snapshots/drill"})
		return err == nil && bytes.Contains(b, []byte(`"status":"created"`))
	}, "snapshot created")
	code, archive, err := call(oldURL, req{path: "snapshots/drill/archive"})
	if err != nil || code != 200 {
		t.Fatalf("download: %d %v", code, err)
	}
	if code, b, err := call(freshURL, req{method: "PUT", path: "snapshots/drill/archive", body: archive, ctype: "application/octet-stream"}); err != nil || code != 201 {
		t.Fatalf("upload: %d %s %v", code, b, err)
	}
	if code, b, err := call(freshURL, req{method: "POST", path: "snapshots/drill/restore", body: map[string]any{"force": true}}); err != nil || code != 200 {
		t.Fatalf("restore: %d %s %v", code, b, err)
	}
	seen := map[string]bool{}
	waitFor(t, func() bool {
		code, b, err := call(freshURL, req{path: "deployments"})
		switch {
		case err != nil:
			seen["unreachable"] = true
		case code == 503:
			seen["503"] = true
		case code == 200 && bytes.Contains(b, []byte(`"id":"dep"`)):
			return true
		}
		return false
	}, "the restored deployment")
	if !seen["unreachable"] {
		t.Logf("never caught the restart window (seen %v)", seen)
	}
}
