// Package testpg gives tests a throwaway PostgreSQL: Start returns a fresh,
// empty database that is dropped when the test ends, so tests never see
// each other's tables.
//
// The server is the one RUNBOOK_TEST_POSTGRES names (a connection string
// whose role may create databases), or else a cluster this package starts
// once per test binary from the server binaries of Debian's postgresql
// package, on 127.0.0.1 and a free port. Starting our own cluster rather
// than requiring a service keeps `go test ./...` working on a bare
// developer machine and in CI alike, and a private cluster is the only way
// a test can stop PostgreSQL under a running journal and bring it back
// (NewCluster, Cluster.Stop, Cluster.Start).
//
// A test binary that calls Start should run its tests through Main, which
// stops the shared cluster after the last test. Should the binary die
// first, the kernel signals the cluster to quit (Linux parent-death
// signal), so no postgres process outlives the tests.
//
// Without the binaries and without RUNBOOK_TEST_POSTGRES the tests are
// skipped, loudly, unless CI=true, where they fail: CI must not pass by
// skipping every PostgreSQL test.
package testpg

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvVar names an existing server to use instead of starting one.
const EnvVar = "RUNBOOK_TEST_POSTGRES"

// callTimeout bounds each administrative statement (CREATE/DROP DATABASE).
const callTimeout = 30 * time.Second

var shared struct {
	mu      sync.Mutex
	cluster *Cluster
	err     error
	tried   bool
}

// Main runs the tests, then stops the shared cluster. Call it from
// TestMain.
func Main(m *testing.M) {
	os.Exit(Run(m))
}

// Run is Main without the exit, for a TestMain that hands its tests to a
// runner that exits itself (testscript.Main): wrap m in a type whose Run
// calls this.
func Run(m interface{ Run() int }) int {
	code := m.Run()
	stopShared()
	return code
}

func stopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.cluster != nil {
		shared.cluster.Close()
		shared.cluster = nil
	}
}

// Start returns a connection string to a new, empty database, dropped
// (with any session still connected to it) when t ends.
func Start(t testing.TB) string {
	t.Helper()
	return CreateDB(t, AdminConnString(t))
}

// AdminConnString returns a connection string, to the maintenance
// database, of a role that may create databases and roles: the server of
// RUNBOOK_TEST_POSTGRES or the shared cluster, started on first use.
func AdminConnString(t testing.TB) string {
	t.Helper()
	if cs := os.Getenv(EnvVar); cs != "" {
		return cs
	}
	bin := serverBin(t, "")
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.tried {
		shared.tried = true
		shared.cluster, shared.err = newCluster(bin)
	}
	if shared.err != nil {
		t.Fatalf("testpg: starting the shared PostgreSQL cluster: %v", shared.err)
	}
	return shared.cluster.ConnString("postgres")
}

// CreateDB creates a database through the admin connection string and
// returns the connection string of the new database; t's cleanup drops it.
func CreateDB(t testing.TB, admin string) string {
	t.Helper()
	name := "t_" + randomHex(6)
	if err := adminExec(admin, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("testpg: %v", err)
	}
	t.Cleanup(func() {
		if err := dropDB(admin, name); err != nil {
			t.Errorf("testpg: %v", err)
		}
	})
	cs, err := withDatabase(admin, name)
	if err != nil {
		t.Fatalf("testpg: %v", err)
	}
	return cs
}

// dropDB drops the database even if a test left a session in it on
// purpose (a "dead" lock holder): WITH (FORCE) needs PostgreSQL 13.
func dropDB(admin, name string) error {
	return adminExec(admin, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
}

func adminExec(admin, sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		return err
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, sql); err != nil {
		return fmt.Errorf("%s: %w", sql, err)
	}
	return nil
}

// withDatabase points a connection string, URL or keyword/value, at
// another database. In the keyword/value form a later key wins.
func withDatabase(connString, db string) (string, error) {
	if !strings.HasPrefix(connString, "postgres://") && !strings.HasPrefix(connString, "postgresql://") {
		return connString + " dbname=" + db, nil
	}
	u, err := url.Parse(connString)
	if err != nil {
		return "", fmt.Errorf("the admin connection string is not a valid URL")
	}
	u.Path = "/" + db
	return u.String(), nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
