package client

import (
	"context"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestNewEndpoint(t *testing.T) {
	tests := []struct {
		name     string
		endpoint string
		want     string // BaseURL, or "" when New must fail
		wantErr  string
	}{
		{name: "https host", endpoint: "https://10.0.0.5", want: "https://10.0.0.5/api/v3.1"},
		{name: "http with port and slash", endpoint: "http://127.0.0.1:8080/", want: "http://127.0.0.1:8080/api/v3.1"},
		{name: "already versioned", endpoint: "https://m.example/api/v3.1", want: "https://m.example/api/v3.1"},
		{name: "prefix kept", endpoint: "https://proxy.example/cfy/", want: "https://proxy.example/cfy/api/v3.1"},
		{name: "spaces trimmed", endpoint: "  https://m  ", want: "https://m/api/v3.1"},
		{name: "empty", endpoint: "", wantErr: "endpoint is empty"},
		{name: "no scheme", endpoint: "10.0.0.5", wantErr: "must start with https:// or http://"},
		{name: "ftp", endpoint: "ftp://m", wantErr: "must start with https:// or http://"},
		{name: "no host", endpoint: "https://", wantErr: "has no host"},
		{name: "credentials", endpoint: "https://admin:hunter2@m", wantErr: "must not carry credentials"},
		{name: "query", endpoint: "https://m/?x=1", wantErr: "must not have a query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(Config{Endpoint: tt.endpoint})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("New(%q) = %v, want error containing %q", tt.endpoint, err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "hunter2") {
					t.Fatalf("error leaks the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := c.BaseURL(); got != tt.want {
				t.Fatalf("BaseURL = %q, want %q", got, tt.want)
			}
			if c.Tenant() != DefaultTenant {
				t.Fatalf("tenant = %q, want %q", c.Tenant(), DefaultTenant)
			}
		})
	}
}

func TestNewConflicts(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"password without username", Config{Endpoint: "https://m", Password: "p"}, "username is empty"},
		{"ca_file and insecure", Config{Endpoint: "https://m", CAFile: "x.pem", Insecure: true}, "exclusive"},
		{"custom client and ca_file", Config{Endpoint: "https://m", CAFile: "x.pem", HTTPClient: &http.Client{}}, "custom HTTP client"},
		{"custom client and insecure", Config{Endpoint: "https://m", Insecure: true, HTTPClient: &http.Client{}}, "custom HTTP client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New = %v, want error containing %q", err, tt.wantErr)
			}
		})
	}
}

// Header names and values as cloudify_rest_client/tests/test_authentication_headers.py
// checks them: Basic base64(user:pass) in Authorization, or the token in
// Authentication-Token, never both.
func TestAuthHeaders(t *testing.T) {
	f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v3.1/snapshot-status":
			reply(w, 200, fixture(t, "snapshots", "status_not_running.json"))
		case "/api/v3.1/ok":
			reply(w, 200, []byte(`"OK"`))
		default:
			reply(w, 200, fixture(t, "maintenance", "deactivated.json"))
		}
	}))
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("testuser:testpassword"))
	tests := []struct {
		name       string
		cfg        Config
		wantAuth   string
		wantToken  string
		wantTenant string
		wantUA     string
	}{
		{name: "basic", cfg: Config{Username: "testuser", Password: "testpassword"}, wantAuth: basic, wantTenant: "default_tenant", wantUA: "runbook-manager-provider"},
		{name: "token", cfg: Config{Token: "abc123"}, wantToken: "abc123", wantTenant: "default_tenant", wantUA: "runbook-manager-provider"},
		{name: "token wins over basic", cfg: Config{Token: "ctok-1-x", Username: "u", Password: "p"}, wantToken: "ctok-1-x", wantTenant: "default_tenant", wantUA: "runbook-manager-provider"},
		{name: "tenant and agent", cfg: Config{Token: "t0k", Tenant: "ops", UserAgent: "ua/1"}, wantToken: "t0k", wantTenant: "ops", wantUA: "ua/1"},
		{name: "anonymous", cfg: Config{}, wantTenant: "default_tenant", wantUA: "runbook-manager-provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Endpoint = f.URL
			c, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := c.Maintenance.Status(context.Background()); err != nil {
				t.Fatal(err)
			}
			h := f.last(t).Header
			if got := h.Get("Authorization"); got != tt.wantAuth {
				t.Errorf("Authorization = %q, want %q", got, tt.wantAuth)
			}
			if got := h.Get("Authentication-Token"); got != tt.wantToken {
				t.Errorf("Authentication-Token = %q, want %q", got, tt.wantToken)
			}
			if got := h.Get("Tenant"); got != tt.wantTenant {
				t.Errorf("Tenant = %q, want %q", got, tt.wantTenant)
			}
			if got := h.Get("User-Agent"); got != tt.wantUA {
				t.Errorf("User-Agent = %q, want %q", got, tt.wantUA)
			}
			if _, ok := h["Execution-Token"]; ok {
				t.Error("Execution-Token sent")
			}

			// The unauthenticated endpoints get no credentials: a restore
			// may replace them.
			if _, err := c.Snapshots.Status(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := c.OK(context.Background()); err != nil {
				t.Fatal(err)
			}
			for _, r := range f.all()[len(f.all())-2:] {
				for _, k := range []string{"Authorization", "Authentication-Token", "Tenant"} {
					if v := r.Header.Get(k); v != "" {
						t.Errorf("%s %s sent %s: %q", r.Method, r.Path, k, v)
					}
				}
			}
		})
	}
}

func writePEM(t *testing.T, srv *httptest.Server) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ca.pem")
	data := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, fixture(t, "snapshots", "status_not_running.json"))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshake
	srv.StartTLS()
	defer srv.Close()
	ca := writePEM(t, srv)

	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.pem")
	garbage := filepath.Join(dir, "garbage.pem")
	os.WriteFile(empty, []byte("\n  \n"), 0o600)
	os.WriteFile(garbage, []byte("not a certificate\n"), 0o600)

	tests := []struct {
		name          string
		cfg           Config
		newErr        string // New fails with this
		callErr       string // the call fails with this
		callRetryable bool
	}{
		{name: "ca_file verifies", cfg: Config{CAFile: ca}},
		{name: "insecure skips verification", cfg: Config{Insecure: true}},
		{name: "system roots reject the test CA", cfg: Config{}, callErr: "certificate"},
		{name: "ca_file missing", cfg: Config{CAFile: filepath.Join(dir, "nope.pem")}, newErr: "cannot read ca_file"},
		{name: "ca_file empty", cfg: Config{CAFile: empty}, newErr: "is empty"},
		{name: "ca_file without PEM", cfg: Config{CAFile: garbage}, newErr: "holds no PEM certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.Endpoint = srv.URL
			c, err := New(cfg)
			if tt.newErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.newErr) {
					t.Fatalf("New = %v, want error containing %q", err, tt.newErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Snapshots.Status(context.Background())
			if tt.callErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var ce *ConnError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.callErr) {
				t.Fatalf("err = %v, want a *ConnError containing %q", err, tt.callErr)
			}
			if IsRetryable(err) != tt.callRetryable {
				t.Fatalf("IsRetryable = %v, want %v (a certificate that does not verify is not an outage)", IsRetryable(err), tt.callRetryable)
			}
		})
	}
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name      string
		status    int
		body      string
		wantCode  string
		wantMsg   string
		retryable bool
		check     func(error) bool
	}{
		{
			name: "401", status: 401,
			body:     `{"message": "User unauthorized", "error_code": "unauthorized_error", "server_traceback": null}`,
			wantCode: CodeUnauthorized, wantMsg: "User unauthorized", check: IsUnauthorized,
		},
		{
			name: "404", status: 404,
			body:     `{"message": "Requested ` + "`Snapshot`" + ` with ID ` + "`nope`" + ` was not found", "error_code": "not_found_error", "server_traceback": null}`,
			wantCode: CodeNotFound, wantMsg: "was not found", check: IsNotFound,
		},
		{
			name: "503 maintenance", status: 503,
			body:     string(fixture(t, "maintenance", "error_maintenance.json")),
			wantCode: CodeMaintenanceModeActive, wantMsg: "maintenance mode", retryable: true,
		},
		{
			name: "503 in snapshot restore", status: 503,
			body:     `{"message": "Your request was rejected since a snapshot restore is in progress", "error_code": "in_snapshot_restore_error", "server_traceback": null}`,
			wantCode: CodeInSnapshotRestore, wantMsg: "snapshot restore", retryable: true,
		},
		{
			name: "500", status: 500,
			body:     `{"message": "Internal error", "error_code": "internal_server_error", "server_traceback": "Traceback ..."}`,
			wantCode: CodeInternalServer, wantMsg: "Internal error", retryable: true,
		},
		{
			name: "502 html from nginx", status: 502,
			body:    "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>nginx</body></html>",
			wantMsg: "502 Bad Gateway", retryable: true,
		},
		{
			name: "400 snapshot action", status: 400,
			body:     string(fixture(t, "snapshots", "error_failed_snapshot.json")),
			wantCode: CodeSnapshotAction, wantMsg: "Failed snapshot cannot be restored",
		},
		{
			name: "304 empty", status: 304, body: "",
			wantCode: CodeNotModified, wantMsg: "Nothing to modify", check: IsNotModified,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.status == 304 {
					w.WriteHeader(304)
					return
				}
				w.WriteHeader(tt.status)
				w.Write([]byte(tt.body))
			}))
			c := f.client(t)
			_, err := c.Snapshots.Restore(context.Background(), "nope", RestoreOptions{})
			var ae *APIError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %#v, want *APIError", err)
			}
			if ae.StatusCode != tt.status || ae.Code != tt.wantCode || ae.Method != "POST" || ae.Path != "/api/v3.1/snapshots/nope/restore" {
				t.Fatalf("APIError = %+v", ae)
			}
			msg := err.Error()
			for _, want := range []string{"POST", "/api/v3.1/snapshots/nope/restore", strconv.Itoa(tt.status), tt.wantMsg} {
				if !strings.Contains(msg, want) {
					t.Errorf("Error() = %q, missing %q", msg, want)
				}
			}
			if strings.Contains(msg, "Traceback") {
				t.Errorf("Error() carries the server traceback: %q", msg)
			}
			if got := IsRetryable(err); got != tt.retryable {
				t.Errorf("IsRetryable = %v, want %v", got, tt.retryable)
			}
			if ErrorCode(err) != tt.wantCode {
				t.Errorf("ErrorCode = %q", ErrorCode(err))
			}
			if tt.check != nil && !tt.check(err) {
				t.Errorf("the helper for %d does not recognise %v", tt.status, err)
			}
		})
	}
}

func TestConnErrors(t *testing.T) {
	// A port nobody listens on: take one, then close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()

	c, err := New(Config{Endpoint: "http://" + addr, Username: "admin", Password: "s3cret-pass"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Snapshots.UploadURL(context.Background(), "snap", "https://user:archive-secret@files.example/s.zip?sig=archive-secret")
	var ce *ConnError
	if !errors.As(err, &ce) {
		t.Fatalf("err = %#v, want *ConnError", err)
	}
	if !IsRetryable(err) {
		t.Fatal("a refused connection must be retryable")
	}
	msg := err.Error()
	for _, want := range []string{"PUT", "/api/v3.1/snapshots/snap/archive", "refused"} {
		if !strings.Contains(msg, want) {
			t.Errorf("Error() = %q, missing %q", msg, want)
		}
	}
	for _, secret := range []string{"archive-secret", "s3cret-pass", "snapshot_archive_url"} {
		if strings.Contains(msg, secret) {
			t.Errorf("Error() = %q carries %q", msg, secret)
		}
	}

	// A cancelled call is the caller's doing: not retryable, and it says so.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Snapshots.Get(ctx, "snap")
	if !errors.Is(err, context.Canceled) || IsRetryable(err) {
		t.Fatalf("cancelled call: err = %v, retryable %v", err, IsRetryable(err))
	}
}

// A proxy that echoes request headers into its error page must not carry the
// secrets into our errors.
func TestSecretsAbsentFromErrors(t *testing.T) {
	const password, token = "pa55-w0rd-xyz", "ctok-42-supersecret"
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen := r.Header.Get("Authorization") + " " + r.Header.Get("Authentication-Token")
		switch r.URL.Path {
		case "/api/v3.1/snapshots/json":
			reply(w, 401, []byte(`{"message": "bad credentials: `+seen+`", "error_code": "unauthorized_error", "server_traceback": "`+seen+`"}`))
		default:
			w.WriteHeader(502)
			w.Write([]byte("<html>upstream said no to " + seen + "</html>"))
		}
	})
	f := newFake(t, echo)
	for _, cfg := range []Config{
		{Endpoint: f.URL, Username: "admin", Password: password},
		{Endpoint: f.URL, Token: token},
	} {
		c, err := New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		basic := base64.StdEncoding.EncodeToString([]byte("admin:" + password))
		for _, id := range []string{"json", "html"} {
			_, err := c.Snapshots.Get(context.Background(), id)
			if err == nil {
				t.Fatal("want an error")
			}
			var ae *APIError
			errors.As(err, &ae)
			for _, s := range []string{err.Error(), ae.Message, ae.Traceback} {
				for _, secret := range []string{password, token, basic} {
					if strings.Contains(s, secret) {
						t.Errorf("error text %q carries a secret", s)
					}
				}
			}
		}
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example/api/v3.1/maintenance?token=leak", http.StatusMovedPermanently)
	}))
	c := f.client(t, func(c *Config) { c.Token = "tok-redirect" })
	_, err := c.Maintenance.Status(context.Background())
	var ae *APIError
	if !errors.As(err, &ae) || ae.StatusCode != 301 {
		t.Fatalf("err = %v, want a 301 APIError", err)
	}
	if !strings.Contains(err.Error(), "https://elsewhere.example/api/v3.1/maintenance") || strings.Contains(err.Error(), "leak") {
		t.Fatalf("Error() = %q", err)
	}
	if n := len(f.all()); n != 1 {
		t.Fatalf("%d requests, want 1 (no redirect followed)", n)
	}
}

func TestPathEscaping(t *testing.T) {
	f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, fixture(t, "snapshots", "get.json"))
	}))
	c := f.client(t)
	if _, err := c.Snapshots.Get(context.Background(), "nightly 2024/08?x#y"); err != nil {
		t.Fatal(err)
	}
	if got, want := f.last(t).Path, "/api/v3.1/snapshots/nightly%202024%2F08%3Fx%23y"; got != want {
		t.Fatalf("path = %q, want %q", got, want)
	}
	if _, err := c.Snapshots.Get(context.Background(), " "); err == nil {
		t.Fatal("an empty id must be refused before any request")
	}
}

func TestCustomHTTPClient(t *testing.T) {
	f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(200 * time.Millisecond)
		reply(w, 200, fixture(t, "maintenance", "deactivated.json"))
	}))
	c := f.client(t, func(c *Config) { c.HTTPClient = &http.Client{Timeout: 20 * time.Millisecond} })
	_, err := c.Maintenance.Status(context.Background())
	var ce *ConnError
	if !errors.As(err, &ce) || !IsRetryable(err) {
		t.Fatalf("err = %v, want a retryable *ConnError from the client's timeout", err)
	}
}
