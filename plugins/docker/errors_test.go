package docker_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/internal/dockertest"
	"github.com/runbook-dev/runbook/plugins/docker"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// A missing image or container fails with the daemon's message, naming
// it, and not retryably; missing_ok makes a removal of nothing a success.
func TestMissingObjects(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	img := dockertest.Name("missing") + ":1"
	ctr := dockertest.Name("missing")
	path := filepath.Join(t.TempDir(), "x.tar")
	tests := []struct {
		action string
		in     obj
		parts  []string
	}{
		{"image_remove", obj{"image": img}, []string{`docker.image_remove: image "` + img + `": `, "No such image: " + img}},
		{"image_save", obj{"images": []string{img}, "path": path}, []string{`docker.image_save: image "` + img + `": `, "No such image: " + img}},
		{"image_tag", obj{"source": img, "target": img + "-x"}, []string{`docker.image_tag: tagging image "` + img + `" as `, "No such image: " + img}},
		{"container_inspect", obj{"container": ctr}, []string{`docker.container_inspect: container "` + ctr + `": No such container: ` + ctr}},
		{"container_stop", obj{"container": ctr}, []string{`container "` + ctr + `": No such container: ` + ctr}},
		{"container_start", obj{"container": ctr}, []string{`container "` + ctr + `": No such container: ` + ctr}},
		{"container_restart", obj{"container": ctr}, []string{`container "` + ctr + `": No such container: ` + ctr}},
		{"container_wait_healthy", obj{"container": ctr}, []string{`container "` + ctr + `": No such container: ` + ctr}},
		{"container_list", obj{"filters": obj{"nonsense": []string{"x"}}}, []string{"docker.container_list: listing containers: Invalid filter 'nonsense'"}},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			wantError(t, failOn(t, h.p, "docker."+tt.action, tt.in), false, tt.parts...)
		})
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("a failed image_save left %s: %v", path, err)
	}
	res := h.apply("docker.image_remove", obj{"image": img, "missing_ok": true})
	if res.str("image") != img || res.out.GetAttr("deleted").LengthInt() != 0 {
		t.Errorf("missing_ok: %#v", res.out)
	}
}

// A daemon that cannot be reached is a retryable failure that says where
// it was looked for; a wait rides it out until its timeout.
func TestUnreachable(t *testing.T) {
	t.Parallel()
	sock := "unix://" + filepath.Join(t.TempDir(), "nothing.sock")
	tcp := "tcp://" + closedPort(t)
	for _, host := range []string{sock, tcp} {
		p := configured(t, obj{"host": host})
		pe := failOn(t, p, "docker.image_list", obj{})
		wantError(t, pe, true, "docker.image_list: cannot reach the daemon at "+host+": ")
		pe = failOn(t, p, "docker.container_restart", obj{"container": "web"})
		wantError(t, pe, true, "cannot reach the daemon at "+host)
		pe = failOn(t, p, "docker.container_wait_healthy", obj{"container": "web", "timeout": "300ms", "interval": "50ms"})
		wantError(t, pe, true, `container "web" is not ready after 300ms: the last inspect failed: `, "cannot reach the daemon at "+host)
	}
	pe := failOn(t, configured(t, obj{"host": sock}), "docker.ping", obj{})
	wantError(t, pe, true, "no such file or directory")
	pe = failOn(t, configured(t, obj{"host": tcp}), "docker.ping", obj{})
	wantError(t, pe, true, "refused or timed out; is the daemon running?")
}

// 5xx answers are retryable, with the daemon's message; 501 and 4xx are
// not.
func TestServerErrors(t *testing.T) {
	t.Parallel()
	cli := dockertest.Client(t)
	px := startProxy(t, cli)
	p := configured(t, obj{"host": px.Host})
	ref := dockertest.Name("fault") + ":1"
	dockertest.BuildImage(t, cli, ref)
	tests := []struct {
		path      string
		status    int
		action    string
		in        obj
		retryable bool
	}{
		{"/images/json", 500, "image_list", obj{}, true},
		{"/images/json", 502, "image_list", obj{}, true},
		{"/containers/", 503, "container_inspect", obj{"container": "web"}, true},
		{"/containers/", 504, "container_restart", obj{"container": "web"}, true},
		{"/images/get", 502, "image_save", obj{"images": []string{ref}, "path": filepath.Join(t.TempDir(), "x.tar")}, true},
		{"/volumes", 501, "volume_list", obj{}, false},
		{"/volumes", 409, "volume_list", obj{}, false},
		{"/images/load", 400, "image_load", obj{"path": os.Args[0]}, false},
	}
	for _, tt := range tests {
		px.fault(tt.path, tt.status)
		pe := failOn(t, p, "docker."+tt.action, tt.in)
		wantError(t, pe, tt.retryable, "docker."+tt.action+": ", fmt.Sprintf("injected %d for %s", tt.status, tt.path))
		px.fault(tt.path, 0)
	}
}

// The provider block: each attribute overrides the environment's variable,
// which applies otherwise; bad values point at their attribute.
func TestConfig(t *testing.T) {
	cli := dockertest.Client(t)
	px := startProxy(t, cli)

	t.Setenv("DOCKER_HOST", px.Host)
	t.Setenv("DOCKER_API_VERSION", "1.40")
	res := apply(t.Context(), configured(t, obj{}), "docker.ping", obj{})
	if res.err != nil || res.str("host") != px.Host || res.str("client_api_version") != "1.40" {
		t.Fatalf("ping through DOCKER_HOST %s, DOCKER_API_VERSION 1.40: %v %#v", px.Host, res.err, res.out)
	}
	if len(px.requests()) == 0 {
		t.Error("DOCKER_HOST was not used")
	}
	res = apply(t.Context(), configured(t, obj{"api_version": "1.41", "host": cli.DaemonHost()}), "docker.ping", obj{})
	if res.err != nil || res.str("host") != cli.DaemonHost() || res.str("client_api_version") != "1.41" {
		t.Errorf("api_version and host over the environment: %v %#v", res.err, res.out)
	}
	t.Setenv("DOCKER_API_VERSION", "")
	res = apply(t.Context(), configured(t, obj{}), "docker.ping", obj{})
	if res.err != nil || res.str("client_api_version") != res.str("api_version") || res.str("server_version") == "" || res.str("os_type") != "linux" {
		t.Errorf("negotiated: %v %#v", res.err, res.out)
	}

	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := []struct {
		config obj
		attr   string
		part   string
	}{
		{obj{"api_version": "one"}, "api_version", `api_version "one" is not a version`},
		{obj{"host": "nonsense"}, "host", `host "nonsense" is not an address`},
		{obj{"cert_file": notPEM}, "key_file", "cert_file and key_file go together"},
		{obj{"ca_file": filepath.Join(dir, "missing.pem")}, "ca_file", "no such file"},
		{obj{"ca_file": notPEM, "host": "tcp://127.0.0.1:2376"}, "", "docker: creating the Docker client: configure TLS"},
	}
	for _, b := range bad {
		err := docker.New().Configure(t.Context(), val(b.config))
		var pe *provider.Error
		if !errors.As(err, &pe) {
			t.Errorf("Configure %v: %v, want an error", b.config, err)
			continue
		}
		if !strings.Contains(pe.Error(), b.part) {
			t.Errorf("Configure %v: %q does not contain %q", b.config, pe.Error(), b.part)
		}
		if b.attr != "" && !pe.Attribute.Equals(cty.GetAttrPath(b.attr)) {
			t.Errorf("Configure %v: the error points at %#v, want %s", b.config, pe.Attribute, b.attr)
		}
	}
}

// ca_file, cert_file and key_file make a mutual TLS connection: a daemon
// stand-in on loopback that verifies the client's certificate answers.
func TestConfigTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	certFile, keyFile, clientCert := clientCertificate(t, dir)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(fakeDaemon))
	pool := x509.NewCertPool()
	pool.AddCert(clientCert)
	srv.TLS = &tls.Config{ClientAuth: tls.RequireAndVerifyClientCert, ClientCAs: pool}
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	srv.StartTLS()
	t.Cleanup(srv.Close)
	caFile := filepath.Join(dir, "ca.pem")
	writePEM(t, caFile, "CERTIFICATE", srv.Certificate().Raw)
	host := "tcp://" + srv.Listener.Addr().String()

	res := apply(t.Context(), configured(t, obj{"host": host, "ca_file": caFile, "cert_file": certFile, "key_file": keyFile}), "docker.ping", obj{})
	if res.err != nil || res.str("server_version") != "99.0-fake" {
		t.Fatalf("ping over mutual TLS: %v %#v", res.err, res.out)
	}
	pe := failOn(t, configured(t, obj{"host": host, "ca_file": caFile}), "docker.ping", obj{})
	wantError(t, pe, true, "cannot reach the daemon at "+host, "certificate required")
	key, _ := os.ReadFile(keyFile)
	if strings.Contains(pe.Error(), strings.TrimSpace(string(key))) {
		t.Error("the error shows the key")
	}
}

// fakeDaemon answers a ping and /version as an engine of API 1.41 would.
func fakeDaemon(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Api-Version", "1.41")
	w.Header().Set("Ostype", "linux")
	if strings.HasSuffix(r.URL.Path, "/version") {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{"Version": "99.0-fake", "ApiVersion": "1.41", "MinAPIVersion": "1.12"})
		return
	}
	_, _ = w.Write([]byte("OK"))
}

// clientCertificate writes a self-signed client certificate and its key
// as PEM files.
func clientCertificate(t *testing.T, dir string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "runbook-test-client"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writePEM(t, certFile, "CERTIFICATE", der)
	writePEM(t, keyFile, "EC PRIVATE KEY", kder)
	return certFile, keyFile, cert
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return addr
}
