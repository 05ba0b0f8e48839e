package sshcopy_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/internal/sshcopy"
	"github.com/runbook-dev/runbook/internal/testsshd"
)

// noAgent keeps a developer's SSH agent out of the tests: its keys would
// log in where a test expects a refusal.
func noAgent(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
}

func location(t *testing.T, url string) *sshcopy.Location {
	t.Helper()
	loc, err := sshcopy.Parse(url)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func dial(t *testing.T, s *testsshd.Server, o sshcopy.Options) (*sshcopy.Client, error) {
	t.Helper()
	c, err := sshcopy.Dial(context.Background(), location(t, s.URL("/")), o)
	if err == nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, err
}

// wantKind asserts err is an *sshcopy.Error of kind, retryable or not, and
// holding each substring.
func wantKind(t *testing.T, err error, kind sshcopy.Kind, retryable bool, contains ...string) *sshcopy.Error {
	t.Helper()
	var se *sshcopy.Error
	if !errors.As(err, &se) {
		t.Fatalf("error %v (%T) is not an *sshcopy.Error", err, err)
	}
	if se.Kind != kind || se.Retryable() != retryable {
		t.Errorf("kind %d, retryable %v; want %d, %v (%v)", se.Kind, se.Retryable(), kind, retryable, err)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	return se
}

// writeKey writes a new ed25519 private key, encrypted when passphrase is
// set, and returns its path.
func writeKey(t *testing.T, passphrase string) string {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte(passphrase))
	}
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDialHostKeys(t *testing.T) {
	noAgent(t)
	s := testsshd.Start(t)
	fingerprint := ssh.FingerprintSHA256(s.HostKey)
	keyscan := "ssh-keyscan -p " + strconv.Itoa(s.Port()) + " 127.0.0.1 >> "

	t.Run("known", func(t *testing.T) {
		if _, err := dial(t, s, sshcopy.Options{KeyFile: s.ClientKeyFile, KnownHostsFile: s.KnownHostsFile}); err != nil {
			t.Fatalf("%v\n%s", err, s.Log())
		}
	})
	t.Run("unknown host", func(t *testing.T) {
		empty := writeFile(t, "")
		_, err := dial(t, s, sshcopy.Options{KeyFile: s.ClientKeyFile, KnownHostsFile: empty})
		wantKind(t, err, sshcopy.KindHostKey, false, s.Addr, "ssh-ed25519", fingerprint, keyscan+empty)
	})
	t.Run("unknown host, accepted when told to", func(t *testing.T) {
		empty := writeFile(t, "")
		if _, err := dial(t, s, sshcopy.Options{KeyFile: s.ClientKeyFile, KnownHostsFile: empty, InsecureIgnoreHostKey: true}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("changed key", func(t *testing.T) {
		pub, _, _ := ed25519.GenerateKey(rand.Reader)
		old, _ := ssh.NewPublicKey(pub)
		file := writeFile(t, knownhosts.Line([]string{s.Addr}, old)+"\n")
		_, err := dial(t, s, sshcopy.Options{KeyFile: s.ClientKeyFile, KnownHostsFile: file})
		wantKind(t, err, sshcopy.KindHostKey, false, s.Addr, fingerprint, ssh.FingerprintSHA256(old), file+":1",
			"intercepting", "ssh-keygen -R '[127.0.0.1]:"+strconv.Itoa(s.Port())+"'", keyscan+file)
	})
	t.Run("missing known_hosts file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "known_hosts")
		_, err := dial(t, s, sshcopy.Options{KeyFile: s.ClientKeyFile, KnownHostsFile: missing})
		wantKind(t, err, sshcopy.KindKnownHosts, false, missing, "does not exist", keyscan+missing)
	})
	t.Run("the default known_hosts file missing: the host is unknown", func(t *testing.T) {
		t.Setenv("HOME", t.TempDir())
		_, err := dial(t, s, sshcopy.Options{KeyFile: s.ClientKeyFile})
		wantKind(t, err, sshcopy.KindHostKey, false, fingerprint, ".ssh/known_hosts")
	})
}

func TestDialAuth(t *testing.T) {
	noAgent(t)
	s := testsshd.Start(t)
	const secret = "hunter2-do-not-print"
	tests := []struct {
		name     string
		opts     sshcopy.Options
		kind     sshcopy.Kind
		contains []string
	}{
		{name: "wrong key", opts: sshcopy.Options{KeyFile: writeKey(t, "")}, kind: sshcopy.KindAuth,
			contains: []string{"refused user", s.User, "unable to authenticate"}},
		{name: "password refused", opts: sshcopy.Options{Password: secret}, kind: sshcopy.KindAuth,
			contains: []string{"refused", "a password"}},
		{name: "no credentials", kind: sshcopy.KindAuth, contains: []string{"no credentials", "SSH_AUTH_SOCK"}},
		{name: "missing key file", opts: sshcopy.Options{KeyFile: "/nonexistent/key"}, kind: sshcopy.KindKeyFile,
			contains: []string{"/nonexistent/key"}},
		{name: "encrypted key without passphrase", opts: sshcopy.Options{KeyFile: writeKey(t, secret)}, kind: sshcopy.KindKeyFile,
			contains: []string{"protected by a passphrase"}},
		{name: "wrong passphrase", opts: sshcopy.Options{KeyFile: writeKey(t, "right"), KeyPassphrase: secret}, kind: sshcopy.KindKeyFile,
			contains: []string{"decrypting"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.opts.KnownHostsFile = s.KnownHostsFile
			_, err := dial(t, s, tt.opts)
			wantKind(t, err, tt.kind, false, tt.contains...)
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error holds the secret: %v", err)
			}
		})
	}
	t.Run("encrypted key with its passphrase", func(t *testing.T) {
		// sshd accepts only its own client key: a login refused after the
		// key was decrypted shows the decryption worked.
		_, err := dial(t, s, sshcopy.Options{KeyFile: writeKey(t, secret), KeyPassphrase: secret, KnownHostsFile: s.KnownHostsFile})
		wantKind(t, err, sshcopy.KindAuth, false, "the key")
	})
	t.Run("user from the URL", func(t *testing.T) {
		loc := location(t, "sftp://nobody-here@"+s.Addr+"/")
		_, err := sshcopy.Dial(context.Background(), loc, sshcopy.Options{KeyFile: s.ClientKeyFile, KnownHostsFile: s.KnownHostsFile})
		wantKind(t, err, sshcopy.KindAuth, false, `"nobody-here"`)
	})
}

// Nothing listens on a closed port: a connection failure, worth retrying.
func TestDialRefused(t *testing.T) {
	noAgent(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = sshcopy.Dial(context.Background(), location(t, "sftp://"+addr+"/x"), sshcopy.Options{Password: "x", InsecureIgnoreHostKey: true})
	wantKind(t, err, sshcopy.KindConnect, true, addr, "refused")
}

// A host that accepts the connection and then says nothing is given up
// on after the timeout, not waited for forever.
func TestDialTimeout(t *testing.T) {
	noAgent(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close() // held open and silent until the test ends
		}
	}()
	start := time.Now()
	_, err = sshcopy.Dial(context.Background(), location(t, "sftp://"+l.Addr().String()+"/x"),
		sshcopy.Options{Password: "x", InsecureIgnoreHostKey: true, Timeout: 200 * time.Millisecond})
	wantKind(t, err, sshcopy.KindConnect, true, l.Addr().String())
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("gave up after %s", d)
	}
}

// waitFor polls cond for a few seconds.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(sshcopy.CancelGrace + 5*time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The agent's keys are offered with the key file's in one publickey
// method: ssh tries each method name once, so a wrong key file must not
// keep the agent's right key from being tried.
func TestDialAgent(t *testing.T) {
	s := testsshd.Start(t)
	pemBytes, err := os.ReadFile(s.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := ssh.ParseRawPrivateKey(pemBytes)
	if err != nil {
		t.Fatal(err)
	}
	keyring := agent.NewKeyring()
	if err := keyring.Add(agent.AddedKey{PrivateKey: raw}); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() { _ = agent.ServeAgent(keyring, c); c.Close() }()
		}
	}()
	t.Setenv("SSH_AUTH_SOCK", sock)
	for name, opts := range map[string]sshcopy.Options{
		"agent alone":              {KnownHostsFile: s.KnownHostsFile},
		"after a refused key file": {KnownHostsFile: s.KnownHostsFile, KeyFile: writeKey(t, "")},
	} {
		if _, err := dial(t, s, opts); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
