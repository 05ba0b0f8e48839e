package testpg

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// startTimeout bounds how long a starting server may take to accept
// connections; stopTimeout how long a fast shutdown may take before the
// postmaster is killed.
const (
	startTimeout = 60 * time.Second
	stopTimeout  = 30 * time.Second
)

// hba trusts the superuser on loopback, so tests need no password, and
// asks every other role for one, so a test can check what a wrong
// password produces.
const hba = `local all all trust
host all postgres 127.0.0.1/32 trust
host all all 127.0.0.1/32 scram-sha-256
`

// Cluster is a PostgreSQL cluster in a temporary directory, listening on
// 127.0.0.1 only. Stop and Start restart it on the same data and port.
type Cluster struct {
	Port  int
	dir   string // the data directory, the socket and the log
	bin   string // the server's bin directory
	owner *account

	mu     sync.Mutex
	proc   *exec.Cmd
	exited chan struct{}
}

// account is the system user the server runs as when we are root, since
// initdb and postgres refuse to run as root.
type account struct{ uid, gid int }

// NewCluster initialises and starts a private cluster for t, removed when
// t ends. Tests that stop the server use one, so as not to disturb others.
// It needs the server binaries even when RUNBOOK_TEST_POSTGRES is set.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := newCluster(serverBin(t, "this test stops and restarts its own PostgreSQL; "))
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// ConnString returns the superuser's connection string to database db.
func (c *Cluster) ConnString(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", c.Port, db)
}

func newCluster(bin string) (*Cluster, error) {
	dir, err := os.MkdirTemp("", "runbook-testpg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin}
	if err := c.init(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, err
	}
	// The free port may be taken between our probe and the server's bind.
	for try := 1; ; try++ {
		if c.Port, err = freePort(); err == nil {
			if err = c.Start(); err == nil {
				return c, nil
			}
		}
		if try == 3 {
			_ = os.RemoveAll(dir)
			return nil, err
		}
	}
}

func (c *Cluster) dataDir() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) logPath() string { return filepath.Join(c.dir, "postgres.log") }

// init runs initdb. Without fsync (-N) for speed: the cluster is thrown
// away, and the server itself runs with fsync=on so commits cost what they
// cost in production.
func (c *Cluster) init() error {
	var err error
	if c.owner, err = serverAccount(); err != nil {
		return err
	}
	if err := c.chown(c.dir); err != nil {
		return err
	}
	cmd := c.command("initdb", "-D", c.dataDir(), "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "-N")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w\n%s", err, out)
	}
	path := filepath.Join(c.dataDir(), "pg_hba.conf")
	if err := os.WriteFile(path, []byte(hba), 0o600); err != nil {
		return err
	}
	return c.chown(path)
}

func (c *Cluster) chown(path string) error {
	if c.owner == nil {
		return nil
	}
	return os.Chown(path, c.owner.uid, c.owner.gid)
}

// command runs one of the server's programs as the server's account.
func (c *Cluster) command(prog string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(c.bin, prog), args...)
	cmd.Dir = c.dir // the account may not be able to read our working directory
	cmd.SysProcAttr = sysProcAttr(c.owner)
	return cmd
}

// Start starts the stopped server and waits until it accepts connections.
func (c *Cluster) Start() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc != nil {
		return errors.New("testpg: cluster already running")
	}
	log, err := os.OpenFile(c.logPath(), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer func() { _ = log.Close() }() // the child has its own copy
	cmd := c.command("postgres", "-D", c.dataDir(), "-p", strconv.Itoa(c.Port),
		"-c", "listen_addresses=127.0.0.1", "-c", "unix_socket_directories="+c.dir, "-c", "fsync=on")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		return err
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	if err := c.waitReady(exited); err != nil {
		_ = cmd.Process.Kill()
		<-exited
		return fmt.Errorf("%w\n%s", err, c.logTail())
	}
	c.proc, c.exited = cmd, exited
	return nil
}

func (c *Cluster) waitReady(exited <-chan struct{}) error {
	deadline := time.Now().Add(startTimeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgconn.Connect(ctx, c.ConnString("postgres"))
		cancel()
		if err == nil {
			return conn.Close(context.Background())
		}
		select {
		case <-exited:
			return errors.New("testpg: postgres exited while starting")
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("testpg: postgres not ready after %v: %w", startTimeout, err)
		}
	}
}

// Stop shuts the server down the fast way: sessions are terminated, as
// when an administrator restarts PostgreSQL under a running client.
func (c *Cluster) Stop() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.proc == nil {
		return nil
	}
	err := c.proc.Process.Signal(os.Interrupt)
	select {
	case <-c.exited:
	case <-time.After(stopTimeout):
		_ = c.proc.Process.Kill()
		<-c.exited
		err = fmt.Errorf("testpg: postgres did not stop within %v; killed", stopTimeout)
	}
	c.proc = nil
	return err
}

// Close stops the server and removes its directory.
func (c *Cluster) Close() {
	_ = c.Stop()
	_ = os.RemoveAll(c.dir)
}

func (c *Cluster) logTail() string {
	data, _ := os.ReadFile(c.logPath())
	if len(data) > 4096 {
		data = data[len(data)-4096:]
	}
	return "postgres log:\n" + string(data)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// serverAccount is nil unless we are root; then it is the postgres user
// Debian's package creates, or nobody.
func serverAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	var errs []error
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		uid, err1 := strconv.Atoi(u.Uid)
		gid, err2 := strconv.Atoi(u.Gid)
		if err := errors.Join(err1, err2); err != nil {
			return nil, err
		}
		return &account{uid: uid, gid: gid}, nil
	}
	return nil, fmt.Errorf("testpg: running as root, and no postgres or nobody user to run the server as: %w", errors.Join(errs...))
}

// serverBin returns the bin directory of the newest installed server, or
// skips t (fails it under CI=true).
func serverBin(t testing.TB, why string) string {
	t.Helper()
	bin, err := findBin()
	if err == nil {
		return bin
	}
	msg := fmt.Sprintf("SKIP: %sno PostgreSQL server binaries (apt-get install postgresql) and %s is not set: %v", why, EnvVar, err)
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// findBin prefers Debian's versioned directories, newest first, then
// whatever initdb is on PATH.
func findBin() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, k int) bool { return versionOf(dirs[i]) > versionOf(dirs[k]) })
	if p, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	return "", errors.New("no initdb and postgres under /usr/lib/postgresql/*/bin or on PATH")
}

// versionOf reads the major version from /usr/lib/postgresql/V/bin, as a
// number so that 10 sorts above 9.6.
func versionOf(dir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(dir)), 64)
	return v
}

func isExec(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}
