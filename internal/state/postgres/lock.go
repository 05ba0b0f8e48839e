package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"hash/fnv"
	"os"
	"os/user"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runbook-dev/runbook/internal/state"
)

// How often a Create or Open with a LockTimeout asks for the lock again:
// from lockPollMin, doubling up to lockPollMax.
const (
	lockPollMin = 50 * time.Millisecond
	lockPollMax = time.Second
)

// LockInfo describes the holder of a workspace lock, as its row in the
// locks table records it.
type LockInfo struct {
	ID         string // what ForceUnlock takes
	RunID      string
	Host       string
	User       string
	PID        int // of the runbook process
	Started    time.Time
	BackendPID int // of the PostgreSQL session holding the lock
}

// LockedError is why Create or Open was refused: another session holds
// the workspace lock. It wraps state.ErrLocked.
type LockedError struct {
	Workspace, Schema string
	// Holder is nil when the session holding the lock has recorded no
	// holder (yet).
	Holder *LockInfo
	// BackendPID is the session holding the lock; 0 if it let go since.
	BackendPID int
}

func (e *LockedError) Error() string {
	where := fmt.Sprintf("%s workspace %q in schema %s", prefix, e.Workspace, e.Schema)
	if h := e.Holder; h != nil {
		return fmt.Sprintf("%s is in use by run %s (host %s, user %s, pid %d, started %s, lock ID %s): %v",
			where, h.RunID, h.Host, h.User, h.PID, h.Started.Format(time.RFC3339), h.ID, state.ErrLocked)
	}
	if e.BackendPID == 0 {
		return fmt.Sprintf("%s was in use a moment ago; try again: %v", where, state.ErrLocked)
	}
	return fmt.Sprintf("%s is in use by PostgreSQL session pid %d, which has not recorded its run: %v",
		where, e.BackendPID, state.ErrLocked)
}

func (e *LockedError) Unwrap() error { return state.ErrLocked }

// lockKey derives an advisory lock key from names. FNV-64 in Go rather
// than hashtext() in SQL: hashtext is 32 bits and not promised stable
// across PostgreSQL versions.
func lockKey(names ...string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("runbook"))
	for _, n := range names {
		_, _ = h.Write([]byte{0})
		_, _ = h.Write([]byte(n))
	}
	return int64(h.Sum64())
}

// keyParts splits a key as pg_locks shows it (see sqlLockPID).
func keyParts(key int64) (hi, lo int64) {
	return int64(uint64(key) >> 32), int64(uint32(key))
}

// wsLock is a held workspace lock: the session holding it, which is also
// the only connection its journal writes through.
type wsLock struct {
	conn *pgx.Conn
	id   string
}

// acquire opens a session, takes the workspace lock in it (waiting up to
// LockTimeout) and records us as the holder.
func (b *Backend) acquire(ctx context.Context, runID string) (*wsLock, error) {
	conn, err := pgx.ConnectConfig(ctx, b.connConfig)
	if err != nil {
		return nil, b.fail("connecting", err)
	}
	lk := &wsLock{conn: conn, id: newLockID()}
	if err := b.lockSession(ctx, lk, runID); err != nil {
		_ = conn.Close(context.Background()) // ending the session frees whatever it took
		return nil, err
	}
	return lk, nil
}

func (b *Backend) lockSession(ctx context.Context, lk *wsLock, runID string) error {
	if _, err := lk.conn.Exec(ctx, sqlSessionSettings); err != nil {
		return b.fail("setting up the session", err)
	}
	if err := b.waitLock(ctx, lk.conn); err != nil {
		return err
	}
	host, _ := os.Hostname()
	_, err := lk.conn.Exec(ctx, b.sql(sqlSetHolder), b.workspace, lk.id, runID, text(host), text(username()),
		os.Getpid(), now())
	if err != nil {
		return b.fail("recording the lock holder", err)
	}
	return nil
}

// waitLock takes the lock, polling with backoff for up to LockTimeout.
func (b *Backend) waitLock(ctx context.Context, conn *pgx.Conn) error {
	deadline := time.Now().Add(b.lockTimeout)
	for delay := lockPollMin; ; delay = min(2*delay, lockPollMax) {
		var ok bool
		if err := conn.QueryRow(ctx, sqlTryLock, b.key).Scan(&ok); err != nil {
			return b.fail("taking the workspace lock", err)
		}
		if ok {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return b.lockedErr(ctx, conn)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s waiting for the lock of workspace %q: %w", prefix, b.workspace, ctx.Err())
		case <-time.After(min(delay, left)):
		}
	}
}

// lockedErr names the holder, if the session holding the lock is the one
// its row describes (a stale row may still name a dead holder).
func (b *Backend) lockedErr(ctx context.Context, q querier) error {
	h, err := b.holder(ctx, q)
	if err != nil {
		return b.fail("reading the lock holder", err)
	}
	pid, err := b.lockPID(ctx, q)
	if err != nil {
		return b.fail("reading the lock holder", err)
	}
	e := &LockedError{Workspace: b.workspace, Schema: b.schema, BackendPID: pid}
	if h != nil && pid != 0 && h.BackendPID == pid {
		e.Holder = h
	}
	return e
}

// Holder returns the workspace lock's holder as its row records it, nil
// if none: what an operator checks before ForceUnlock. The row may be
// stale (its session gone); ForceUnlock tells.
func (b *Backend) Holder(ctx context.Context) (*LockInfo, error) {
	h, err := b.holder(ctx, b.pool)
	if err != nil {
		return nil, b.fail("reading the lock holder", err)
	}
	return h, nil
}

// holder reads the workspace's locks row; nil if there is none.
func (b *Backend) holder(ctx context.Context, q querier) (*LockInfo, error) {
	var h LockInfo
	var pid, backend int32
	err := q.QueryRow(ctx, b.sql(sqlHolder), b.workspace).
		Scan(&h.ID, &h.RunID, &h.Host, &h.User, &pid, &h.Started, &backend)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	h.PID, h.BackendPID, h.Started = int(pid), int(backend), h.Started.UTC()
	return &h, nil
}

// lockPID returns the session holding the workspace lock, 0 if none.
func (b *Backend) lockPID(ctx context.Context, q querier) (int, error) {
	hi, lo := keyParts(b.key)
	var pid int32
	err := q.QueryRow(ctx, sqlLockPID, hi, lo).Scan(&pid)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil
	}
	return int(pid), err
}

// liveRun returns the ID of the run whose journal is open now: the one
// the holder row names, if its session holds the lock. "" if none.
func (b *Backend) liveRun(ctx context.Context) (string, error) {
	h, err := b.holder(ctx, b.pool)
	if err != nil || h == nil {
		return "", err
	}
	pid, err := b.lockPID(ctx, b.pool)
	if err != nil || pid != h.BackendPID {
		return "", err
	}
	return h.RunID, nil
}

// release drops our holder row (only if still ours, so never the next
// holder's), then the lock, then the session. The explicit unlock makes
// the lock free when release returns, which closing alone would not: the
// server ends a closed session a moment later. If the session was lost,
// the lock went with it, and the stale row is harmless.
func (lk *wsLock) release(b *Backend) error {
	ctx, cancel := context.WithTimeout(context.Background(), releaseTimeout)
	defer cancel()
	var err error
	if !lk.conn.IsClosed() {
		batch := &pgx.Batch{}
		batch.Queue(b.sql(sqlDropHolder), b.workspace, lk.id)
		batch.Queue(sqlUnlock, b.key)
		if err = lk.conn.SendBatch(ctx, batch).Close(); err != nil {
			err = b.fail("releasing the workspace lock", err)
		}
	}
	_ = lk.conn.Close(ctx)
	return err
}

// ForceUnlock frees the workspace lock with this lock ID (the one a
// refused Create or Open reported) whose holder cannot release it: most
// often a machine that died with its connection half-open, whose session
// PostgreSQL keeps, lock and all, until TCP gives up on it. It terminates
// that session with pg_terminate_backend (the role must be the session's
// role, a member of pg_signal_backend, or a superuser) and deletes the
// holder row. The lock ID makes sure the lock freed is the one the
// operator looked at, not one taken since.
func (b *Backend) ForceUnlock(ctx context.Context, lockID string) error {
	h, err := b.holder(ctx, b.pool)
	if err != nil {
		return b.fail("reading the lock holder", err)
	}
	if h == nil || h.ID != lockID {
		current := "(none)"
		if h != nil {
			current = h.ID
		}
		return fmt.Errorf("%s lock ID %s does not match the current lock %s", prefix, lockID, current)
	}
	pid, err := b.lockPID(ctx, b.pool)
	switch {
	case err != nil:
		return b.fail("finding the lock's session", err)
	case pid != 0 && pid != h.BackendPID:
		return fmt.Errorf("%s lock ID %s is stale: PostgreSQL session pid %d holds the workspace lock now, not pid %d",
			prefix, lockID, pid, h.BackendPID)
	case pid != 0:
		if err := b.terminate(ctx, pid); err != nil {
			return err
		}
	}
	if _, err := b.pool.Exec(ctx, b.sql(sqlDropHolder), b.workspace, lockID); err != nil {
		return b.fail("deleting the lock holder", err)
	}
	return nil
}

// terminate ends a session and waits until its lock is free: the server
// releases it when the session's process exits, a moment after the signal.
func (b *Backend) terminate(ctx context.Context, pid int) error {
	if _, err := b.pool.Exec(ctx, sqlTerminate, int32(pid)); err != nil {
		return b.fail(fmt.Sprintf("terminating PostgreSQL session pid %d", pid), err)
	}
	ctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	defer cancel()
	for {
		held, err := b.lockPID(ctx, b.pool)
		if err != nil {
			return b.fail(fmt.Sprintf("waiting for PostgreSQL session pid %d to end", pid), err)
		}
		if held != pid {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s PostgreSQL session pid %d still holds the lock: %w", prefix, pid, ctx.Err())
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// newLockID returns a random UUID (version 4), the form Terraform's lock
// IDs take.
func newLockID() string {
	var u [16]byte
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40
	u[8] = u[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

func username() string {
	if u, err := user.Current(); err == nil {
		return u.Username
	}
	return os.Getenv("USER")
}
