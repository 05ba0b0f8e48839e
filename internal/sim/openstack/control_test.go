package openstack

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

func (s *sim) control(method, path, body string) *res {
	s.t.Helper()
	r, err := http.NewRequest(method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	resp, err := s.hc.Do(r)
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	return &res{t: s.t, code: resp.StatusCode, header: resp.Header, raw: raw}
}

func TestFaultsErrorsDropsLatency(t *testing.T) {
	s := newSim(t, Options{})
	s.adminToken()
	s.control("POST", "/_sim/faults", `{"rules": [
	  {"path_prefix": "/compute/v2.1/servers", "method": "GET", "error_rate": 1, "times": 1},
	  {"path_prefix": "/network/v2.0/ports", "error_rate": 1, "times": 1},
	  {"path_prefix": "/v3/auth", "error_rate": 1, "times": 1},
	  {"path_prefix": "/compute/v2.1/flavors", "error_rate": 1, "error_status": 503, "times": 1},
	  {"path_prefix": "/compute/v2.1/os-services", "drop_rate": 1, "times": 1},
	  {"path_prefix": "/compute/v2.1/os-hypervisors", "latency": "30ms", "times": 1}
	]}`).want(http.StatusOK)
	s.do(req{path: "/compute/v2.1/servers"}).wantFault(http.StatusInternalServerError, "computeFault", "")
	s.do(req{path: "/compute/v2.1/servers"}).want(http.StatusOK) // times: 1
	s.do(req{path: "/network/v2.0/ports"}).wantNeutron(http.StatusInternalServerError, "HTTPInternalServerError", "Request Failed: internal server error while processing your request.")
	if r := s.login("admin", "admin", "admin"); r.code != 500 || r.json()["error"].(map[string]any)["title"] != "Internal Server Error" {
		t.Fatalf("keystone 500: %d %s", r.code, r.raw)
	}
	if r := s.do(req{path: "/compute/v2.1/flavors"}); r.code != 503 || !bytes.Contains(r.raw, []byte("No server is available")) || r.header.Get("Content-Type") != "text/html" {
		t.Fatalf("503: %d %v %s", r.code, r.header, r.raw)
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	rq, _ := http.NewRequest("GET", s.url+"/compute/v2.1/os-services", nil)
	rq.Header.Set("X-Auth-Token", s.adminToken())
	if resp, err := hc.Do(rq); err == nil {
		_ = resp.Body.Close()
		t.Fatalf("dropped connection answered %d", resp.StatusCode)
	}
	start := time.Now()
	s.do(req{path: "/compute/v2.1/os-hypervisors"}).want(http.StatusOK)
	if time.Since(start) < 30*time.Millisecond {
		t.Fatal("no latency")
	}
	var log []RequestRecord
	if err := json.Unmarshal(s.control("GET", "/_sim/requests", "").want(http.StatusOK).raw, &log); err != nil {
		t.Fatal(err)
	}
	faults := map[string]int{}
	for _, r := range log {
		faults[r.Fault]++
		if r.Fault == "drop" && (r.Status != 0 || !r.Dropped) {
			t.Fatalf("drop record %+v", r)
		}
	}
	if faults["error"] != 4 || faults["drop"] != 1 || faults["latency"] != 1 {
		t.Fatalf("fault records %v", faults)
	}
	s.control("POST", "/_sim/faults", `{"rules": [{"path_prefix": "/", "error_rate": 2}]}`).want(http.StatusBadRequest)
	s.control("POST", "/_sim/faults", `{"host_states": {"compute-9": "down"}}`).want(http.StatusBadRequest)
	s.control("POST", "/_sim/faults", `{"bogus": 1}`).want(http.StatusBadRequest)
}

func TestFaultsAreDeterministic(t *testing.T) {
	run := func() string {
		s := newSim(t, Options{})
		s.adminToken()
		s.control("POST", "/_sim/faults", `{"seed": 7, "rules": [{"path_prefix": "/compute/", "error_rate": 0.5}]}`).want(http.StatusOK)
		var b strings.Builder
		for i := 0; i < 40; i++ {
			if s.do(req{path: "/compute/v2.1/flavors"}).code == 500 {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	a, b := run(), run()
	if a != b || !strings.Contains(a, "x") || !strings.Contains(a, ".") {
		t.Fatalf("runs differ or are degenerate:\n%s\n%s", a, b)
	}
}

func TestRequestLogHidesSecrets(t *testing.T) {
	s := newSim(t, Options{})
	tok := s.adminToken()
	s.do(req{path: "/compute/v2.1/servers?password=hunter2&name=x", mv: "2.53"}).want(http.StatusOK)
	raw := s.control("GET", "/_sim/requests", "").want(http.StatusOK).raw
	if bytes.Contains(raw, []byte("hunter2")) || bytes.Contains(raw, []byte(tok)) || bytes.Contains(raw, []byte(`"admin"`)) {
		t.Fatalf("secrets in the log: %s", raw)
	}
	var log []RequestRecord
	_ = json.Unmarshal(raw, &log)
	last := log[len(log)-1]
	if last.Service != "compute" || last.Microversion != "2.53" || last.Auth != "token" || last.Status != 200 || last.Query["password"][0] != "REDACTED" {
		t.Fatalf("record %+v", last)
	}
	if log[0].Path != "/v3/auth/tokens" || log[0].Status != 201 || log[0].Service != "identity" {
		t.Fatalf("first record %+v", log[0])
	}
}

func TestReset(t *testing.T) {
	s := newSim(t, Options{})
	id := s.create("tmp", "2", "", nil)
	s.control("POST", "/_sim/faults", `{"rules": [{"path_prefix": "/network/", "error_rate": 1}]}`).want(http.StatusOK)
	s.control("POST", "/_sim/reset", "").want(http.StatusOK)
	s.tok = "" // tokens are forgotten
	s.do(req{path: "/compute/v2.1/servers/" + id}).wantFault(http.StatusNotFound, "itemNotFound", "")
	s.do(req{path: "/network/v2.0/ports"}).want(http.StatusOK)
	// Ids are the same after a reset: the seed drives them.
	if again := s.create("tmp", "2", "", nil); again != id {
		t.Fatalf("ids after reset: %s vs %s", again, id)
	}
	s.control("GET", "/_sim/nope", "").want(http.StatusNotFound)
}

func TestEstateValidation(t *testing.T) {
	for _, tt := range []struct{ name, estate, want string }{
		{"unknown field", `{"hostz": []}`, "unknown field"},
		{"duplicate host", `{"hosts": [{"name": "a"}, {"name": "a"}]}`, "duplicate host"},
		{"bad state", `{"hosts": [{"name": "a", "state": "sleepy"}]}`, "want up or down"},
		{"unknown flavor", `{"servers": [{"name": "x", "flavor": "m9"}]}`, `flavor "m9" is not in the estate`},
		{"unknown network", `{"servers": [{"name": "x", "networks": ["nope"]}]}`, `network "nope"`},
		{"unknown host", `{"servers": [{"name": "x", "host": "h9"}]}`, `host "h9"`},
		{"no room", `{"hosts": [{"name": "h", "memory_mb": 1024}], "servers": [{"name": "x"}]}`, "no host has room"},
		{"bad cidr", `{"networks": [{"name": "n", "cidr": "nope"}]}`, "IPv4 CIDR"},
		{"ip in use", `{"ports": [{"network": "private", "fixed_ip": "10.0.0.5"}, {"network": "private", "fixed_ip": "10.0.0.5"}]}`, "already allocated"},
		{"port bound twice", `{"ports": [{"name": "p", "network": "private"}], "servers": [{"name": "a", "ports": ["p"]}, {"name": "b", "ports": ["p"]}]}`, "already bound"},
		{"fip without external", `{"networks": [{"name": "n", "cidr": "10.0.0.0/24"}], "floating_ips": [{}]}`, "external network"},
		{"bad time", `{"servers": [{"name": "x", "created_at": "yesterday"}]}`, "RFC 3339"},
		{"bad microversion", `{"nova": {"max_microversion": "2.200"}}`, "max_microversion"},
		{"app cred user", `{"application_credentials": [{"name": "c", "secret": "s", "user": "nobody"}]}`, `user "nobody"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseEstate([]byte(tt.estate))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
	// Count makes many servers, spread by the scheduler.
	e, err := ParseEstate([]byte(`{"servers": [{"name": "vm", "count": 120, "flavor": "m1.small", "networks": ["private"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s := newSim(t, Options{Estate: e})
	per := map[string]int{}
	for _, v := range s.do(req{path: "/compute/v2.1/servers/detail?limit=1000"}).want(http.StatusOK).json()["servers"].([]any) {
		per[v.(map[string]any)["OS-EXT-SRV-ATTR:host"].(string)]++
	}
	if per["compute-1"] != 40 || per["compute-2"] != 40 || per["compute-3"] != 40 {
		t.Fatalf("spread %v", per)
	}
}

func TestRunPrintsURLAndServes(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	var stderr bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- Run(ctx, []string{"--listen", "127.0.0.1:0", "--evacuate-time", "1s"}, pw, &stderr) }()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSpace(line)
	if !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	body := `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"name":"Default"},"password":"admin"}}},"scope":{"project":{"name":"admin","domain":{"name":"Default"}}}}}`
	resp, err := http.Post(base+"/v3/auth/tokens", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("default estate: admin/admin got %d", resp.StatusCode)
	}
	cancel()
	_ = pw.Close()
	if code := <-done; code != 0 {
		t.Fatalf("exit code %d, stderr %s", code, stderr.String())
	}
	for _, args := range [][]string{{"--max-microversion", "3.0"}, {"extra"}, {"--nope"}, {"--evacuate-time", "-1s"}} {
		if code := Run(context.Background(), args, io.Discard, io.Discard); code != 2 {
			t.Fatalf("Run(%v) = %d, want 2", args, code)
		}
	}
	if code := Run(context.Background(), []string{"--estate", "/nonexistent.json"}, io.Discard, io.Discard); code != 1 {
		t.Fatal("missing estate")
	}
}

// TestStartAndRealClock drives a default cloud through Start on the real
// clock with the default timings, as a drill would.
func TestStartAndRealClock(t *testing.T) {
	srv := New(Options{})
	base, err := srv.Start("")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	s := &sim{t: t, srv: srv, url: base, hc: &http.Client{Timeout: 5 * time.Second}}
	id := s.create("drill", "2", "", nil)
	deadline := time.Now().Add(5 * time.Second)
	for s.server(id, "")["status"] != "ACTIVE" {
		if time.Now().After(deadline) {
			t.Fatal("never ACTIVE")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestDocExamples parses the estate and fault examples of the OpenStack
// section of docs/simulators.md, so that the documentation stays true.
func TestDocExamples(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/simulators.md")
	if err != nil {
		t.Skipf("docs/simulators.md: %v", err)
	}
	text := string(doc)
	i := strings.Index(text, "## OpenStack")
	if i < 0 {
		t.Fatal("docs/simulators.md has no OpenStack section")
	}
	text = text[i:]
	block := func(after string) string {
		i := strings.Index(text, after)
		if i < 0 {
			t.Fatalf("the OpenStack section has no %q", after)
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
	s.do(req{path: "/compute/v2.1/servers/detail?all_tenants=1"}).want(http.StatusOK)
	var f Faults
	dec := json.NewDecoder(strings.NewReader(strings.TrimSpace(strings.ReplaceAll(block("`POST /_sim/faults` installs"), "\n  ", "\n"))))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		t.Fatalf("the documented faults do not decode: %v", err)
	}
	if err := s.srv.SetFaults(f); err != nil {
		t.Fatalf("the documented faults are refused: %v", err)
	}
}
