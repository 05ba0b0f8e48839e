package postgres

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/internal/state/statetest"
	"github.com/runbook-dev/runbook/internal/testpg"
)

func TestMain(m *testing.M) { testpg.Main(m) }

const runID = "20261124T041500Z-7f3a"

func TestConformance(t *testing.T) {
	db := testpg.Start(t)
	statetest.Run(t, func(t *testing.T) state.Backend {
		b, err := New(t.Context(), Config{ConnString: db, SchemaName: freshSchema()})
		if err != nil {
			t.Fatal(err)
		}
		return b
	})
}

// freshSchema names a schema of its own for each backend, so that tests
// sharing a database never see each other's runs.
func freshSchema() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "t_" + hex.EncodeToString(b)
}

// config returns a Config on a fresh schema of a fresh database.
func config(t testing.TB) Config {
	t.Helper()
	return Config{ConnString: testpg.Start(t), SchemaName: freshSchema()}
}

// open returns a backend for cfg, closed when t ends. Two backends on the
// same Config stand for two runbook processes.
func open(t testing.TB, cfg Config) *Backend {
	t.Helper()
	b, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { _ = b.Close() })
	return b
}

func create(t testing.TB, b *Backend, id string) *Journal {
	t.Helper()
	j, err := b.Create(t.Context(), &state.RunInfo{ID: id, Runbook: "manager-recovery", Dir: "/srv"})
	if err != nil {
		t.Fatalf("Create(%s): %v", id, err)
	}
	return j.(*Journal)
}

func closeOK(t testing.TB, j state.Journal) {
	t.Helper()
	if err := j.Close(); err != nil {
		t.Fatalf("Journal.Close: %v", err)
	}
}

func appendOK(t testing.TB, j state.Journal, recs ...*state.Record) {
	t.Helper()
	if err := j.Append(t.Context(), recs...); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

func lockedError(t *testing.T, err error) *LockedError {
	t.Helper()
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, state.ErrLocked) {
		t.Fatalf("error %v, want a *LockedError wrapping state.ErrLocked", err)
	}
	return le
}

// exec runs SQL as the test's superuser, behind the backend's back. Not
// under t.Context(), which is cancelled before cleanups run.
func exec(t *testing.T, connString, sql string, args ...any) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, connString)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = conn.Close(ctx) }()
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func TestLockNamesHolder(t *testing.T) {
	cfg := config(t)
	holder := open(t, cfg)
	before := time.Now().Add(-time.Second)
	j := create(t, holder, runID)
	defer closeOK(t, j)

	_, err := open(t, cfg).Create(t.Context(), &state.RunInfo{ID: "20261124T041600Z-0001"})
	le := lockedError(t, err)
	h := le.Holder
	host, _ := os.Hostname()
	if h == nil || h.RunID != runID || h.Host != host || h.PID != os.Getpid() || h.User == "" ||
		h.ID != j.LockID() || h.BackendPID == 0 || h.BackendPID != le.BackendPID ||
		h.Started.Before(before) || h.Started.After(time.Now()) {
		t.Fatalf("holder %+v (session %d), want run %s on %s, pid %d, lock %s, started just now",
			h, le.BackendPID, runID, host, os.Getpid(), j.LockID())
	}
	for _, want := range []string{
		`workspace "default" in schema ` + cfg.SchemaName, "run " + runID, "host " + host,
		"started " + h.Started.Format(time.RFC3339), "lock ID " + j.LockID(),
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
}

func TestLockTimeout(t *testing.T) {
	cfg := config(t)
	j := create(t, open(t, cfg), runID)

	short := cfg
	short.LockTimeout = 200 * time.Millisecond
	start := time.Now()
	_, err := open(t, short).Create(t.Context(), &state.RunInfo{ID: "20261124T041600Z-0001"})
	lockedError(t, err)
	if d := time.Since(start); d < short.LockTimeout || d > 5*time.Second {
		t.Errorf("Create with LockTimeout %v gave up after %v", short.LockTimeout, d)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	long := cfg
	long.LockTimeout = time.Minute
	waiter := open(t, long)
	if _, err := waiter.Create(ctx, &state.RunInfo{ID: "20261124T041600Z-0001"}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Create with a context that expires first: %v, want context.DeadlineExceeded", err)
	}

	const hold = 300 * time.Millisecond
	time.AfterFunc(hold, func() { _ = j.Close() })
	start = time.Now()
	got, err := waiter.Create(t.Context(), &state.RunInfo{ID: "20261124T041600Z-0002"})
	if err != nil {
		t.Fatalf("Create waiting for the holder: %v", err)
	}
	closeOK(t, got)
	if d := time.Since(start); d < hold-50*time.Millisecond {
		t.Errorf("Create got the lock after %v, before the holder let go", d)
	}
}

// TestForceUnlock: the holder's machine is "dead": its journal is never
// closed and its session never ends. Another runbook frees the lock.
func TestForceUnlock(t *testing.T) {
	cfg := config(t)
	dead := create(t, open(t, cfg), runID)
	appendOK(t, dead, &state.Record{Type: state.StepStarted, Step: "step.a"})
	b := open(t, cfg)
	_, err := b.Create(t.Context(), &state.RunInfo{ID: "20261124T041600Z-0001"})
	lockID := lockedError(t, err).Holder.ID
	if h, err := b.Holder(t.Context()); err != nil || h == nil || h.ID != lockID || h.RunID != runID {
		t.Fatalf("Holder = %+v, %v; want lock %s of run %s", h, err, lockID, runID)
	}

	err = b.ForceUnlock(t.Context(), "not-"+lockID)
	if want := fmt.Sprintf("lock ID not-%s does not match the current lock %s", lockID, lockID); err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("ForceUnlock with a wrong lock ID: %v, want %q", err, want)
	}
	if err := b.ForceUnlock(t.Context(), lockID); err != nil {
		t.Fatalf("ForceUnlock: %v", err)
	}
	closeOK(t, create(t, b, "20261124T041600Z-0001"))

	// The dead holder, were it to wake, can no longer write.
	err = dead.Append(t.Context(), &state.Record{Type: state.StepSucceeded, Step: "step.a"})
	if err == nil || !strings.Contains(err.Error(), "lost the connection holding the workspace lock") {
		t.Errorf("Append after ForceUnlock: %v, want the lost-lock error", err)
	}
	if recs, err := b.Read(t.Context(), runID); err != nil || len(recs) != 2 {
		t.Errorf("Read of the force-unlocked run: %d records, %v; want 2", len(recs), err)
	}
	if err := dead.Close(); err == nil {
		t.Error("Close hid the lost lock")
	}
	if err := b.ForceUnlock(t.Context(), lockID); err == nil || !strings.Contains(err.Error(), "current lock (none)") {
		t.Errorf("ForceUnlock of a freed lock: %v", err)
	}
	if h, err := b.Holder(t.Context()); err != nil || h != nil {
		t.Errorf("Holder of a freed lock = %+v, %v", h, err)
	}
}

// TestStaleLockRow: a runbook killed mid-run leaves its locks row, but
// its session ended, and with it the lock: nothing is blocked.
func TestStaleLockRow(t *testing.T) {
	cfg := config(t)
	b := open(t, cfg)
	j := create(t, b, runID)
	_ = j.lock.conn.Close(t.Context()) // kill -9: no release, the row stays
	defer func() { _ = j.Close() }()
	waitUnlocked(t, b)

	if runs, err := b.List(t.Context()); err != nil || len(runs) != 1 || runs[0].Status != "interrupted" {
		t.Errorf("List with a stale lock row = %+v, %v; want %s interrupted", runs, err, runID)
	}
	next := create(t, b, "20261124T041600Z-0001")
	defer closeOK(t, next)
	if h, err := b.holder(t.Context(), b.pool); err != nil || h == nil || h.ID != next.LockID() {
		t.Errorf("holder row %+v, %v; want the new holder %s", h, err, next.LockID())
	}
}

// waitUnlocked waits for the server to end a session closed under it.
func waitUnlocked(t *testing.T, b *Backend) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; {
		pid, err := b.lockPID(t.Context(), b.pool)
		if err != nil {
			t.Fatal(err)
		}
		if pid == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %d still holds the lock", pid)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestServerRestart stops PostgreSQL under an open journal: the next
// Append must fail, clearly, and keep nothing from being lost; once the
// server is back, the run resumes.
func TestServerRestart(t *testing.T) {
	cluster := testpg.NewCluster(t)
	cfg := Config{ConnString: cluster.ConnString("postgres")}
	j := create(t, open(t, cfg), runID)
	for i := range 3 {
		appendOK(t, j, &state.Record{Type: state.StepSucceeded, Step: fmt.Sprintf("step.s%d", i)})
	}
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	err := j.Append(t.Context(), &state.Record{Type: state.StepStarted, Step: "step.lost"})
	if err == nil || !strings.HasPrefix(err.Error(), "state backend postgres: lost the connection holding the workspace lock: ") {
		t.Fatalf("Append with the server stopped: %v, want the lost-lock error", err)
	}
	if err := j.Append(t.Context(), &state.Record{Type: state.StepStarted, Step: "step.x"}); err == nil {
		t.Error("a second Append after losing the lock succeeded")
	}
	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err == nil {
		t.Error("Close hid the lost lock")
	}

	again, recs, err := open(t, cfg).Open(t.Context(), runID)
	if err != nil {
		t.Fatalf("Open after the restart: %v", err)
	}
	if len(recs) != 4 || recs[3].Step != "step.s2" {
		t.Fatalf("after the restart: %d records, want RunStarted and 3 steps", len(recs))
	}
	rec := &state.Record{Type: state.RunResumed}
	appendOK(t, again, rec)
	closeOK(t, again)
	if rec.Seq != 5 {
		t.Errorf("resumed append got seq %d, want 5", rec.Seq)
	}
}

// TestRaceCreate: two runbooks start at the same moment; one runs.
func TestRaceCreate(t *testing.T) {
	cfg := config(t)
	backends := []*Backend{open(t, cfg), open(t, cfg)}
	for round := range 10 {
		var wg sync.WaitGroup
		start := make(chan struct{})
		journals := make([]state.Journal, 2)
		errs := make([]error, 2)
		for i, b := range backends {
			wg.Go(func() {
				<-start
				journals[i], errs[i] = b.Create(t.Context(), &state.RunInfo{ID: fmt.Sprintf("20261124T04%02d00Z-%d", round, i)})
			})
		}
		close(start)
		wg.Wait()
		won := 0
		for i, err := range errs {
			if err == nil {
				won++
				closeOK(t, journals[i])
			} else if !errors.Is(err, state.ErrLocked) {
				t.Fatalf("round %d: Create: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of 2 racing Creates won, want exactly 1", round, won)
		}
	}
}

// TestValuesByteExact: values may be sealed ciphertext; they come back as
// they went in, whitespace, key order and escapes included.
func TestValuesByteExact(t *testing.T) {
	b := open(t, config(t))
	j := create(t, b, runID)
	values := [][]byte{
		[]byte(`{ "b" : 1,  "a":"\u00e9\u003c&", "n": 1.0e+2, "a": null }`),
		[]byte(`{"sealed":"v1:AAECAwQFBgcICQoLDA0ODw==","x":"\ud83d\ude00"}`),
		[]byte("[\n\t1,\n\t2\n]"),
	}
	for _, v := range values {
		appendOK(t, j, &state.Record{Type: state.StepOutputs, Step: "step.a", Values: v})
	}
	closeOK(t, j)
	recs, err := b.Read(t.Context(), runID)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range values {
		if got := recs[i+1].Values; !bytes.Equal(got, v) {
			t.Errorf("values %d came back as %q, want %q", i, got, v)
		}
	}
}

// TestOddText: text columns take neither NUL nor invalid UTF-8; such a
// message must not fail the Append.
func TestOddText(t *testing.T) {
	b := open(t, config(t))
	j := create(t, b, runID)
	appendOK(t, j, &state.Record{Type: state.AttemptFailed, Step: "step.a", Message: "bad\x00byte \xff end"})
	closeOK(t, j)
	recs, err := b.Read(t.Context(), runID)
	if err != nil || recs[1].Message != "bad\uFFFDbyte \uFFFD end" {
		t.Errorf("Read = %q, %v", recs[1].Message, err)
	}
}

func TestPasswordNeverShown(t *testing.T) {
	const secret = "S3cret-Pw-4242"
	port := freePort(t)
	for name, cs := range map[string]string{
		"URL":        fmt.Sprintf("postgres://runbook:%s@127.0.0.1:%d/state?sslmode=disable", secret, port),
		"keywords":   fmt.Sprintf("host=127.0.0.1 port=%d user=runbook password=%s dbname=state sslmode=disable", port, secret),
		"query":      fmt.Sprintf("postgres://runbook@127.0.0.1:%d/state?sslmode=disable&password=%s", port, secret),
		"unparsable": fmt.Sprintf("postgres://runbook:%s@127.0.0.1:port/state", secret),
	} {
		_, err := New(t.Context(), Config{ConnString: cs})
		where := fmt.Sprintf("cannot connect to 127.0.0.1:%d/state: ", port)
		if name == "unparsable" {
			where = "cannot parse the connection string"
		}
		if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), where) {
			t.Errorf("%s: New: %v; want %q and no password", name, err, where)
		}
	}
	wrongPassword(t, secret)
}

// wrongPassword connects as a role with a password, giving the wrong one.
// The test cluster asks every role but postgres for a password; a server
// named by RUNBOOK_TEST_POSTGRES may not.
func wrongPassword(t *testing.T, secret string) {
	db := testpg.Start(t)
	role := freshSchema()
	exec(t, db, "CREATE ROLE "+role+" LOGIN PASSWORD 'the-right-one'")
	t.Cleanup(func() { exec(t, db, "DROP ROLE "+role) })
	pc, err := pgconn.ParseConfig(db)
	if err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "postgres", User: url.UserPassword(role, secret),
		Host: net.JoinHostPort(pc.Host, fmt.Sprint(pc.Port)), Path: "/" + pc.Database, RawQuery: "sslmode=disable"}
	if conn, err := pgconn.Connect(t.Context(), u.String()); err == nil {
		_ = conn.Close(t.Context())
		t.Skipf("SKIP: the server let %s in with a wrong password (trust authentication)", role)
	}
	_, err = New(t.Context(), Config{ConnString: u.String()})
	if err == nil || strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "cannot connect to "+u.Host) ||
		!strings.Contains(err.Error(), "password authentication failed") {
		t.Errorf("New with a wrong password: %v", err)
	}
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port
}

func TestMaskedEvenIfEchoed(t *testing.T) {
	b := &Backend{password: "hunter22", server: "db:5432/x"}
	err := b.fail("doing", errors.New("server said: hunter22"))
	if strings.Contains(err.Error(), "hunter22") || !errors.Is(err, err.(*masked).err) {
		t.Errorf("fail = %v", err)
	}
}

// TestGroupCommit holds the committer inside a commit while 20 appends
// queue up: they must then share one commit.
func TestGroupCommit(t *testing.T) {
	b := open(t, config(t))
	gate, committing := make(chan struct{}), make(chan struct{}, 100)
	b.beforeCommit = func() { committing <- struct{}{}; <-gate }
	j := create(t, b, runID)
	defer closeOK(t, j)

	var wg sync.WaitGroup
	appendOne := func(step string) {
		wg.Go(func() {
			if err := j.Append(t.Context(), &state.Record{Type: state.StepStarted, Step: step}); err != nil {
				t.Error(err)
			}
		})
	}
	appendOne("step.first")
	<-committing
	const n = 20
	for i := range n {
		appendOne(fmt.Sprintf("step.s%d", i))
	}
	for deadline := time.Now().Add(5 * time.Second); queuedCalls(j) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d appends queued", queuedCalls(j), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
	close(gate)
	wg.Wait()
	if got := j.Syncs(); got != 3 { // create, first batch, second batch
		t.Errorf("Syncs() = %d, want 3", got)
	}
	if recs, err := b.Read(t.Context(), runID); err != nil || len(recs) != n+2 {
		t.Errorf("Read = %d records, %v; want %d", len(recs), err, n+2)
	}
}

func queuedCalls(j *Journal) int { return j.Waiting() }

// TestWorkspaces: workspaces share a schema but neither runs nor locks.
func TestWorkspaces(t *testing.T) {
	cfg := config(t)
	cfg.Workspace = "east"
	east := open(t, cfg)
	cfg.Workspace = "west"
	west := open(t, cfg)
	j1, j2 := create(t, east, runID), create(t, west, "20261124T041600Z-0001")
	closeOK(t, j1)
	closeOK(t, j2)
	if runs, err := east.List(t.Context()); err != nil || len(runs) != 1 || runs[0].ID != runID {
		t.Errorf("east runs = %+v, %v", runs, err)
	}
	if _, err := west.Read(t.Context(), runID); !errors.Is(err, state.ErrNotFound) {
		t.Errorf("west reading east's run: %v, want ErrNotFound", err)
	}
}

func TestNewerFormats(t *testing.T) {
	cfg := config(t)
	b := open(t, cfg)
	closeOK(t, create(t, b, runID))
	exec(t, cfg.ConnString, "UPDATE "+cfg.SchemaName+".runs SET journal_version = $1", state.FormatVersion+1)
	if _, err := b.Read(t.Context(), runID); !errors.Is(err, state.ErrNewerFormat) {
		t.Errorf("Read: %v, want ErrNewerFormat", err)
	}
	if _, _, err := b.Open(t.Context(), runID); !errors.Is(err, state.ErrNewerFormat) {
		t.Errorf("Open: %v, want ErrNewerFormat", err)
	}
	if runs, err := b.List(t.Context()); err != nil || len(runs) != 1 || runs[0].Status != "unreadable" {
		t.Errorf("List = %+v, %v; want the run unreadable", runs, err)
	}

	exec(t, cfg.ConnString, "UPDATE "+cfg.SchemaName+".schema_version SET version = 99")
	if _, err := New(t.Context(), cfg); !errors.Is(err, state.ErrNewerFormat) || !strings.Contains(err.Error(), "version 99") {
		t.Errorf("New on a schema from a newer runbook: %v, want ErrNewerFormat", err)
	}
}

func TestSeqGapIsCorrupt(t *testing.T) {
	cfg := config(t)
	b := open(t, cfg)
	j := create(t, b, runID)
	appendOK(t, j, &state.Record{Type: state.StepStarted, Step: "step.a"}, &state.Record{Type: state.StepSucceeded, Step: "step.a"})
	closeOK(t, j)
	exec(t, cfg.ConnString, "DELETE FROM "+cfg.SchemaName+".records WHERE seq = 2")
	if _, err := b.Read(t.Context(), runID); !errors.Is(err, state.ErrCorrupt) {
		t.Errorf("Read: %v, want ErrCorrupt", err)
	}
}

// TestDurableSession: a database whose default is synchronous_commit=off
// still gets durable appends.
func TestDurableSession(t *testing.T) {
	cfg := config(t)
	pc, err := pgconn.ParseConfig(cfg.ConnString)
	if err != nil {
		t.Fatal(err)
	}
	exec(t, cfg.ConnString, "ALTER DATABASE "+pc.Database+" SET synchronous_commit = off")
	j := create(t, open(t, cfg), runID)
	defer closeOK(t, j)
	var setting string
	if err := j.lock.conn.QueryRow(t.Context(), "SHOW synchronous_commit").Scan(&setting); err != nil || setting != "on" {
		t.Errorf("synchronous_commit in the journal's session = %q, %v; want on", setting, err)
	}
}

func TestConfigChecked(t *testing.T) {
	for _, cfg := range []Config{
		{},
		{ConnString: "postgres://x", SchemaName: "Runbook"},
		{ConnString: "postgres://x", SchemaName: "a-b"},
		{ConnString: "postgres://x", SchemaName: "1st"},
		{ConnString: "postgres://x", SchemaName: `x"; DROP TABLE y; --`},
		{ConnString: "postgres://x", Workspace: "a\x00b"},
	} {
		if _, err := New(t.Context(), cfg); err == nil || !strings.HasPrefix(err.Error(), "state backend postgres: ") {
			t.Errorf("New(%+v) = %v, want a configuration error", cfg, err)
		}
	}
}
