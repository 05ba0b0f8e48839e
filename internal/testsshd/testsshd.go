// Package testsshd runs a real OpenSSH server on the loopback interface
// for tests of code that copies files over SSH and SFTP. A real sshd,
// rather than an in-process imitation, is what catches the differences
// that matter in production: its SFTP extensions (posix-rename, fsync),
// its host key and authentication behaviour, its error statuses.
//
// Each server has its own host key and accepts one client key, both made
// by the test; it logs in the current user and serves files from the
// machine's own file system, so a test's remote paths are local paths.
package testsshd

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHD is where Debian's openssh-server installs the daemon.
const SSHD = "/usr/sbin/sshd"

// Server is a running sshd.
type Server struct {
	Addr           string        // 127.0.0.1:PORT
	User           string        // the user it logs in: the current one
	ClientKeyFile  string        // the private key it accepts, in OpenSSH form
	KnownHostsFile string        // a known_hosts file with its key for [127.0.0.1]:PORT
	HostKey        ssh.PublicKey // its host key

	dir string
	log *syncBuffer
}

// Start runs an sshd for the test and stops it when the test ends. It
// skips the test when sshd is not installed, except on CI (CI=true),
// where that is a broken setup and fails it.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := os.Stat(SSHD); err != nil {
		msg := fmt.Sprintf("SKIP: no sshd (apt-get install openssh-server): %s is missing, so the SSH tests do not run", SSHD)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	u, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{User: u.Username, dir: t.TempDir()}
	hostPriv := s.writeKey(t, "host_ed25519")
	s.HostKey = hostPriv.PublicKey()
	s.ClientKeyFile = filepath.Join(s.dir, "client_ed25519")
	clientPriv := s.writeKey(t, "client_ed25519")
	s.write(t, "authorized_keys", ssh.MarshalAuthorizedKey(clientPriv.PublicKey()), 0o600)
	if os.Geteuid() == 0 {
		// As root sshd separates privileges and chroots its unprivileged
		// child there; as another user it runs without it.
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.run(t)
	s.KnownHostsFile = filepath.Join(s.dir, "known_hosts")
	s.write(t, "known_hosts", []byte(knownhosts.Line([]string{s.Addr}, s.HostKey)+"\n"), 0o600)
	return s
}

// URL is the sftp:// URL of a path on the server, with its user.
func (s *Server) URL(path string) string {
	return "sftp://" + s.User + "@" + s.Addr + path
}

// Port is the server's TCP port.
func (s *Server) Port() int {
	_, p, _ := net.SplitHostPort(s.Addr)
	n, _ := strconv.Atoi(p)
	return n
}

// Log is what sshd wrote so far, for a failing test to show.
func (s *Server) Log() string { return s.log.String() }

// writeKey makes an ed25519 key and writes it in OpenSSH form, which both
// sshd and ssh.ParsePrivateKey read.
func (s *Server) writeKey(t testing.TB, name string) ssh.Signer {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "testsshd "+name)
	if err != nil {
		t.Fatal(err)
	}
	// sshd refuses a host key that others can read.
	s.write(t, name, pem.EncodeToMemory(block), 0o600)
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return signer
}

func (s *Server) write(t testing.TB, name string, data []byte, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(s.dir, name), data, mode); err != nil {
		t.Fatal(err)
	}
}

// config is sshd_config for one port. Paths in it are absolute and %
// is sshd's escape character.
func (s *Server) config(port int) []byte {
	esc := func(p string) string { return strings.ReplaceAll(filepath.Join(s.dir, p), "%", "%%") }
	return fmt.Appendf(nil, `ListenAddress 127.0.0.1:%d
HostKey %s
AuthorizedKeysFile %s
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
PidFile none
Subsystem sftp internal-sftp
AllowAgentForwarding no
AllowTcpForwarding no
X11Forwarding no
MaxStartups 100
LogLevel VERBOSE
`, port, esc("host_ed25519"), esc("authorized_keys"))
}

// run starts sshd on a free port. Another process may take the port
// between finding it and sshd binding it, so a failed start is retried on
// a new one.
func (s *Server) run(t testing.TB) {
	t.Helper()
	var errs []error
	for range 3 {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		err = s.try(t, port)
		if err == nil {
			return
		}
		errs = append(errs, err)
	}
	t.Fatalf("sshd did not start: %v", errors.Join(errs...))
}

func (s *Server) try(t testing.TB, port int) error {
	cfg := filepath.Join(s.dir, "sshd_config")
	if err := os.WriteFile(cfg, s.config(port), 0o600); err != nil {
		return err
	}
	s.log = &syncBuffer{}
	cmd := exec.Command(SSHD, "-D", "-e", "-f", cfg)
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	// Each connection's session process outlives the listener only as
	// long as its client keeps the connection open.
	stop := func() {
		_ = cmd.Process.Kill()
		<-exited
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	if err := waitBanner(s.Addr, exited, 10*time.Second); err != nil {
		stop()
		return fmt.Errorf("%w; sshd said:\n%s", err, s.log.String())
	}
	t.Cleanup(func() {
		stop()
		if t.Failed() {
			t.Logf("sshd log:\n%s", s.log.String())
		}
	})
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }() // only its port was wanted
	return l.Addr().(*net.TCPAddr).Port, nil
}

// waitBanner polls until addr accepts a connection and sends an SSH
// banner, sshd exits, or the deadline passes.
func waitBanner(addr string, exited <-chan struct{}, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		select {
		case <-exited:
			return errors.New("sshd exited")
		default:
		}
		if banner(addr) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no SSH banner on %s after %s", addr, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func banner(addr string) bool {
	conn, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer func() { _ = conn.Close() }() // a probe
	_ = conn.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(conn).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// syncBuffer collects sshd's output, written from exec's copying
// goroutine while a test may read it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
