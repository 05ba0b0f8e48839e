package core_test

import (
	"encoding/pem"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/core"
)

// recorder is a test server's handler that records every request.
type recorder struct {
	mu       sync.Mutex
	requests []string
}

func (rec *recorder) count() int {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return len(rec.requests)
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rec.mu.Lock()
	rec.requests = append(rec.requests, r.Method+" "+r.URL.Path)
	rec.mu.Unlock()
	switch {
	case r.URL.Path == "/json":
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Add("X-Multi", "first")
		w.Header().Add("X-Multi", "second")
		fmt.Fprint(w, `{"status": "uploaded", "items": [1, 2]}`)
	case r.URL.Path == "/problem-json":
		w.Header().Set("Content-Type", "application/problem+json")
		fmt.Fprint(w, `{"title": "x"}`)
	case r.URL.Path == "/bad-json":
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"unterminated": `)
	case r.URL.Path == "/text-json":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, `{"looks": "like json"}`)
	case r.URL.Path == "/echo":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprintf(w, "%s %s %s %s", r.Method, r.Header.Get("X-Token"), r.Header.Get("Content-Type"), body)
	case r.URL.Path == "/big":
		fmt.Fprint(w, strings.Repeat("x", 100))
	case strings.HasPrefix(r.URL.Path, "/status/"):
		var code int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/status/"), "%d", &code)
		w.WriteHeader(code)
		fmt.Fprintf(w, "the server says %d", code)
	case r.URL.Path == "/empty":
		w.WriteHeader(http.StatusNoContent)
	default:
		http.NotFound(w, r)
	}
}

func TestHTTP(t *testing.T) {
	srv := httptest.NewServer(&recorder{})
	defer srv.Close()
	tests := []struct {
		name       string
		set        map[string]cty.Value
		wantStatus int64
		wantBody   string
		wantJSON   cty.Value // cty.NilVal: expect null
		wantHeader map[string]string
	}{
		{
			name:       "GET json",
			set:        map[string]cty.Value{"url": cty.StringVal(srv.URL + "/json")},
			wantStatus: 200,
			wantBody:   `{"status": "uploaded", "items": [1, 2]}`,
			wantJSON: cty.ObjectVal(map[string]cty.Value{
				"status": cty.StringVal("uploaded"),
				"items":  cty.TupleVal([]cty.Value{cty.NumberIntVal(1), cty.NumberIntVal(2)}),
			}),
			wantHeader: map[string]string{"Content-Type": "application/json; charset=utf-8", "X-Multi": "first"},
		},
		{
			name:       "+json media type",
			set:        map[string]cty.Value{"url": cty.StringVal(srv.URL + "/problem-json")},
			wantStatus: 200,
			wantBody:   `{"title": "x"}`,
			wantJSON:   cty.ObjectVal(map[string]cty.Value{"title": cty.StringVal("x")}),
		},
		{
			name:       "JSON content type, invalid body",
			set:        map[string]cty.Value{"url": cty.StringVal(srv.URL + "/bad-json")},
			wantStatus: 200,
			wantBody:   `{"unterminated": `,
		},
		{
			name:       "JSON body, text content type",
			set:        map[string]cty.Value{"url": cty.StringVal(srv.URL + "/text-json")},
			wantStatus: 200,
			wantBody:   `{"looks": "like json"}`,
		},
		{
			name: "POST with headers and body",
			set: map[string]cty.Value{
				"url":     cty.StringVal(srv.URL + "/echo"),
				"method":  cty.StringVal("post"),
				"headers": strMap("x-token", "t0k", "Content-Type", "text/csv"),
				"body":    cty.StringVal("a,b"),
			},
			wantStatus: 200,
			wantBody:   "POST t0k text/csv a,b",
		},
		{
			name:       "expected 404",
			set:        map[string]cty.Value{"url": cty.StringVal(srv.URL + "/status/404"), "expect_status": nums(200, 404)},
			wantStatus: 404,
			wantBody:   "the server says 404",
		},
		{
			name:       "204 no body",
			set:        map[string]cty.Value{"url": cty.StringVal(srv.URL + "/empty")},
			wantStatus: 204,
		},
	}
	p := core.New(core.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := mustApply(t, p, request(t, "http", tt.set))
			if got := num(t, out, "status"); got != tt.wantStatus {
				t.Errorf("status = %d, want %d", got, tt.wantStatus)
			}
			if got := str(t, out, "body"); got != tt.wantBody {
				t.Errorf("body = %q, want %q", got, tt.wantBody)
			}
			j := out.GetAttr("json")
			if tt.wantJSON == cty.NilVal {
				if !j.IsNull() {
					t.Errorf("json = %#v, want null", j)
				}
			} else if !j.RawEquals(tt.wantJSON) {
				t.Errorf("json = %#v, want %#v", j, tt.wantJSON)
			}
			h := out.GetAttr("headers")
			for k, v := range tt.wantHeader {
				if got := h.Index(cty.StringVal(k)); got.AsString() != v {
					t.Errorf("headers[%s] = %q, want %q", k, got.AsString(), v)
				}
			}
		})
	}
}

func TestHTTPFailures(t *testing.T) {
	srv := httptest.NewServer(&recorder{})
	defer srv.Close()
	closed := httptest.NewServer(&recorder{})
	closedURL := closed.URL
	closed.Close()
	host := strings.TrimPrefix(srv.URL, "http://")

	tests := []struct {
		name        string
		set         map[string]cty.Value
		retryable   bool
		contains    []string
		notContains []string
	}{
		{"503", map[string]cty.Value{"url": cty.StringVal(srv.URL + "/status/503")}, true,
			[]string{"GET " + srv.URL + "/status/503", "unexpected status 503 Service Unavailable", "expected 2xx", "the server says 503"}, nil},
		{"500 on POST", map[string]cty.Value{"url": cty.StringVal(srv.URL + "/status/500"), "method": cty.StringVal("POST")}, true,
			[]string{"POST ", "500"}, nil},
		{"429", map[string]cty.Value{"url": cty.StringVal(srv.URL + "/status/429")}, true, []string{"429 Too Many Requests"}, nil},
		{"404", map[string]cty.Value{"url": cty.StringVal(srv.URL + "/status/404")}, false, []string{"404 Not Found", "the server says 404"}, nil},
		{"200 not in expect_status", map[string]cty.Value{"url": cty.StringVal(srv.URL + "/json"), "expect_status": nums(201)}, false,
			[]string{"200 OK", "expected 201"}, nil},
		{"password in the URL", map[string]cty.Value{"url": cty.StringVal("http://admin:pa55w0rd@" + host + "/status/403")}, false,
			[]string{"http://admin:xxxxx@" + host + "/status/403", "403"}, []string{"pa55w0rd"}},
		{"connection refused", map[string]cty.Value{"url": cty.StringVal(closedURL + "/x")}, true, []string{"GET " + closedURL + "/x"}, nil},
		{"bad scheme", map[string]cty.Value{"url": cty.StringVal("ftp://example.com/")}, false, []string{"http:// or https://"}, nil},
		{"not a URL", map[string]cty.Value{"url": cty.StringVal("http://[::1")}, false, []string{"not a valid URL"}, nil},
		{"bad method", map[string]cty.Value{"url": cty.StringVal(srv.URL), "method": cty.StringVal("GET /x")}, false, []string{"not an HTTP method"}, nil},
		{"bad header", map[string]cty.Value{"url": cty.StringVal(srv.URL), "headers": strMap("X-A", "a\r\nb")}, false, []string{"line break"}, nil},
		{"bad status", map[string]cty.Value{"url": cty.StringVal(srv.URL), "expect_status": nums(42)}, false, []string{"not an HTTP status"}, nil},
		{"missing ca_file", map[string]cty.Value{"url": cty.StringVal(srv.URL), "ca_file": cty.StringVal("/nonexistent/ca.pem")}, false, []string{"ca_file", "/nonexistent/ca.pem"}, nil},
	}
	p := core.New(core.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := apply(t, p, request(t, "http", tt.set))
			wantErr(t, err, tt.retryable, tt.contains...)
			for _, s := range tt.notContains {
				if strings.Contains(err.Error(), s) {
					t.Errorf("error contains %q: %v", s, err)
				}
			}
		})
	}
}

func TestHTTPSensitiveURL(t *testing.T) {
	srv := httptest.NewServer(&recorder{})
	defer srv.Close()
	r := request(t, "http", map[string]cty.Value{
		"url":     cty.StringVal(srv.URL + "/status/500?token=tok-secret-123"),
		"headers": strMap("Authorization", "Bearer tok-secret-123"),
	})
	r.SensitivePaths = []cty.Path{cty.GetAttrPath("headers").Index(cty.StringVal("Authorization")), cty.GetAttrPath("url")}
	var ev events
	r.Events = ev.add
	_, err := apply(t, core.New(core.Options{}), r)
	wantErr(t, err, true, "(sensitive)", "500")
	if strings.Contains(err.Error(), "tok-secret-123") {
		t.Errorf("error leaks the token: %v", err)
	}
	for _, l := range ev.logs() {
		if strings.Contains(l, "tok-secret-123") {
			t.Errorf("event leaks the token: %s", l)
		}
	}
}

func TestHTTPTruncation(t *testing.T) {
	srv := httptest.NewServer(&recorder{})
	defer srv.Close()
	out := mustApply(t, core.New(core.Options{MaxOutput: 10}), request(t, "http", map[string]cty.Value{"url": cty.StringVal(srv.URL + "/big")}))
	if got, want := str(t, out, "body"), "xxxxxxxxxx\n[... output truncated at 10 bytes]"; got != want {
		t.Errorf("body = %q, want %q", got, want)
	}
}

func TestHTTPTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(&recorder{})
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	defer srv.Close()
	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	junk := writeFile(t, dir, "junk.pem", "not a certificate", 0o600)
	url := cty.StringVal(srv.URL + "/json")
	p := core.New(core.Options{})

	_, err := apply(t, p, request(t, "http", map[string]cty.Value{"url": url}))
	wantErr(t, err, false, "certificate", "ca_file")

	out := mustApply(t, p, request(t, "http", map[string]cty.Value{"url": url, "insecure": cty.True}))
	if num(t, out, "status") != 200 {
		t.Errorf("insecure: status %d", num(t, out, "status"))
	}
	out = mustApply(t, p, request(t, "http", map[string]cty.Value{"url": url, "ca_file": cty.StringVal(caFile)}))
	if num(t, out, "status") != 200 {
		t.Errorf("ca_file: status %d", num(t, out, "status"))
	}
	_, err = apply(t, p, request(t, "http", map[string]cty.Value{"url": url, "ca_file": cty.StringVal(junk)}))
	wantErr(t, err, false, "no PEM certificates")
}

// Plan sends nothing, and validates like Apply.
func TestHTTPPlan(t *testing.T) {
	rec := &recorder{}
	srv := httptest.NewServer(rec)
	defer srv.Close()
	p := core.New(core.Options{})
	out, err := plan(t, p, request(t, "http", map[string]cty.Value{
		"url": cty.StringVal(srv.URL + "/echo"), "method": cty.StringVal("DELETE"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	if out.IsKnown() {
		t.Errorf("plan outputs = %#v, want unknown", out)
	}
	if n := rec.count(); n != 0 {
		t.Errorf("Plan made %d requests", n)
	}
	_, err = plan(t, p, request(t, "http", map[string]cty.Value{"url": cty.StringVal("file:///etc/passwd")}))
	wantErr(t, err, false, "http:// or https://")
}
