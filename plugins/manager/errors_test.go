package manager_test

import (
	"context"
	"encoding/pem"
	"errors"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/plugins/manager"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// Bad input: the step fails naming the action, the HTTP method and path,
// the status code and the API's own message; only 5xx and connection
// errors are retryable; no secret shows.
func TestBadInput(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: estate()})
	list := obj{}
	tests := []struct {
		name      string
		config    obj
		action    string
		in        obj
		retryable bool
		parts     []string
	}{
		{"wrong password", obj{"password": "hunter2-wrong"}, "manager.snapshot_list", list, false,
			[]string{"manager.snapshot_list: manager API GET /api/v3.1/snapshots: 401 unauthorized_error: User unauthorized: Authentication failed for <User username=`admin`>"}},
		{"unknown user", obj{"username": "mallory"}, "manager.snapshot_create", obj{"snapshot_id": "x"}, false,
			[]string{"manager.snapshot_create: manager API GET /api/v3.1/snapshots/x: 401 unauthorized_error"}},
		{"bad token", obj{"token": "ctok-nope-nope"}, "manager.maintenance_status", obj{}, false,
			[]string{"GET /api/v3.1/maintenance: 401 unauthorized_error: User unauthorized: Unauthorized"}},
		{"wrong tenant", obj{"tenant": "nowhere"}, "manager.snapshot_get", obj{"snapshot_id": "nightly"}, false,
			[]string{"manager.snapshot_get: manager API GET /api/v3.1/snapshots/nightly: 403 forbidden_error: Authorization failed: Tried to authenticate with invalid tenant name: nowhere"}},
		{"unknown snapshot", nil, "manager.snapshot_download", obj{"snapshot_id": "nope", "path": filepath.Join(t.TempDir(), "x.zip")}, false,
			[]string{"manager.snapshot_download: manager API GET /api/v3.1/snapshots/nope/archive: 404 not_found_error: Requested `Snapshot` with ID `nope` was not found"}},
		{"manager down", obj{"endpoint": closedPort(t)}, "manager.snapshot_list", list, true,
			[]string{"manager.snapshot_list: manager API GET /api/v3.1/snapshots:", "connection refused"}},
		{"restore on a manager down", obj{"endpoint": closedPort(t)}, "manager.snapshot_restore", obj{"snapshot_id": "nightly"}, true,
			[]string{"manager.snapshot_restore: manager API GET /api/v3.1/snapshot-status:", "connection refused"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, s, tt.config)
			pe := h.fail(tt.action, tt.in)
			wantError(t, pe, tt.retryable, tt.parts...)
			for _, secret := range []string{"hunter2-wrong", "ctok-nope-nope", "YWRtaW46"} {
				if strings.Contains(pe.Error(), secret) {
					t.Errorf("the error shows a secret: %v", pe)
				}
			}
		})
	}
}

// Injected 5xx (nginx's 502 page, the REST service's 500) are retryable and
// say what they were.
func TestServerErrorsAreRetryable(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: estate()})
	h := newHarness(t, s, nil)
	s.faults(t, simmanager.Faults{Rules: []simmanager.FaultRule{
		{PathPrefix: "/api/v3.1/snapshots", Method: "GET", ErrorRate: 1, ErrorStatus: 502, Times: 1},
		{PathPrefix: "/api/v3.1/maintenance", ErrorRate: 1, Times: 1},
	}})
	pe := h.fail("manager.snapshot_get", obj{"snapshot_id": "nightly"})
	wantError(t, pe, true, "manager.snapshot_get: manager API GET /api/v3.1/snapshots/nightly: 502 Bad Gateway:", "nginx")
	pe = h.fail("manager.maintenance_status", obj{})
	wantError(t, pe, true, "GET /api/v3.1/maintenance: 500 internal_server_error: Internal Server Error (simulated fault)")
	// The rules were used up: the same calls now succeed.
	h.apply("manager.snapshot_get", obj{"snapshot_id": "nightly"})
	h.apply("manager.maintenance_status", obj{})
}

// TLS: a self-signed manager fails without ca_file (not retryable: waiting
// does not fix a certificate), works with its CA in ca_file, or insecure.
func TestTLS(t *testing.T) {
	srv := simmanager.New(simmanager.Options{Estate: estate()})
	ts := httptest.NewUnstartedServer(srv.Handler())
	ts.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake
	ts.StartTLS()
	defer ts.Close()
	tlsSim := &sim{Server: srv, URL: ts.URL}

	h := newHarness(t, tlsSim, nil)
	pe := h.fail("manager.snapshot_list", obj{})
	wantError(t, pe, false, "manager.snapshot_list: manager API GET /api/v3.1/snapshots:", "certificate")

	ca := filepath.Join(t.TempDir(), "ca.pem")
	pemBytes := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ts.Certificate().Raw})
	if err := os.WriteFile(ca, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	withCA := newHarness(t, tlsSim, obj{"ca_file": ca})
	if got := withCA.apply("manager.snapshot_list", obj{}); len(strings_(got.out.GetAttr("ids"))) != 2 {
		t.Errorf("with ca_file: %#v", got.out)
	}
	insecure := newHarness(t, tlsSim, obj{"insecure": true})
	insecure.apply("manager.snapshot_get", obj{"snapshot_id": "nightly"})
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		config obj
		attr   string
		want   string
	}{
		{"no endpoint", obj{}, "endpoint", "required"},
		{"not a URL", obj{"endpoint": "manager.example.com"}, "endpoint", "must start with https:// or http://"},
		{"credentials in the URL", obj{"endpoint": "https://admin:pw@manager"}, "endpoint", "must not carry credentials"},
		{"missing CA", obj{"endpoint": "https://manager", "ca_file": "/nonexistent/ca.pem"}, "ca_file", "cannot read ca_file"},
		{"CA and insecure", obj{"endpoint": "https://manager", "ca_file": "/etc/hostname", "insecure": true}, "ca_file", "exclusive"},
		{"bad poll interval", obj{"endpoint": "https://manager", "poll_interval": "often"}, "poll_interval", "poll_interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := manager.New().Configure(context.Background(), val(tt.config))
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("Configure: %v, want a *provider.Error", err)
			}
			if !strings.Contains(pe.Error(), tt.want) || !pe.Attribute.Equals(ctyPath(tt.attr)) {
				t.Errorf("error %q at %#v, want %q at %s", pe.Error(), pe.Attribute, tt.want, tt.attr)
			}
		})
	}
	// A password without a user name.
	err := manager.New().Configure(context.Background(), val(obj{"endpoint": "https://manager", "password": "pw"}))
	if err == nil || !strings.Contains(err.Error(), "username") || strings.Contains(err.Error(), "pw\"") {
		t.Errorf("password without username: %v", err)
	}
}
