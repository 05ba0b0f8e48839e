package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/runbook-dev/runbook/internal/state"
)

// Journal appends to one run. Appends are group-committed as in the local
// backend: callers queue rows and wait; one committer goroutine takes
// everything queued, sends it in one batch (one transaction) through the
// lock's session, and releases every caller in the batch.
type Journal struct {
	b     *Backend // names, statements and the password to mask
	runID string
	lock  *wsLock
	syncs atomic.Int64
	done  chan struct{} // closed when the committer exits

	mu      sync.Mutex
	next    uint64        // Seq of the next record
	queued  []row         // rows not yet committed
	waiters []chan error  // callers whose rows are in queued
	wake    chan struct{} // tells the committer there is work; closed by Close
	closed  bool
	// err is set once a commit fails. Whether that commit happened is
	// then unknown (the reply may be what was lost), so the journal
	// refuses further appends; reopening shows what was stored.
	err error
}

var _ state.NoWaitAppender = (*Journal)(nil)

func newJournal(b *Backend, runID string, lk *wsLock, next uint64, syncs int64) *Journal {
	j := &Journal{
		b:     b,
		runID: runID,
		lock:  lk,
		done:  make(chan struct{}),
		next:  next,
		wake:  make(chan struct{}, 1),
	}
	j.syncs.Store(syncs)
	go j.commit()
	return j
}

// LockID returns the ID of the workspace lock this journal holds.
func (j *Journal) LockID() string { return j.lock.id }

// Append writes recs durably, assigning their Seq (in append order) and,
// when zero, their Time. The context is only checked before the records
// are queued: once queued they will be written, and the caller must learn
// whether they are durable before acting on them.
func (j *Journal) Append(ctx context.Context, recs ...*state.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	if err := j.enqueue(recs, done); err != nil {
		return err
	}
	return <-done
}

// AppendNoWait queues recs like Append but returns before they are
// committed; the next Append or Close commits them, in order.
func (j *Journal) AppendNoWait(ctx context.Context, recs ...*state.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return j.enqueue(recs, make(chan error, 1)) // nobody waits for this outcome
}

// enqueue converts recs to rows on the queue and registers done to hear
// the outcome. Seq is assigned under the lock, so Seq order is commit
// order.
func (j *Journal) enqueue(recs []*state.Record, done chan error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.closed:
		return fmt.Errorf("%s run %s: append after close: %w", prefix, j.runID, os.ErrClosed)
	case j.err != nil:
		return j.err
	case len(recs) == 0:
		done <- nil
		return nil
	}
	rows, err := j.encode(recs)
	if err != nil {
		return err
	}
	j.queued = append(j.queued, rows...)
	j.waiters = append(j.waiters, done)
	select {
	case j.wake <- struct{}{}:
	default: // the committer already has a wake-up pending
	}
	return nil
}

// encode converts recs, and only when all of them convert does it give
// the callers' records their Seq and Time: a bad record uses no Seq.
func (j *Journal) encode(recs []*state.Record) ([]row, error) {
	at := now()
	rows := make([]row, len(recs))
	for i, r := range recs {
		if r == nil {
			return nil, fmt.Errorf("%s run %s: nil record", prefix, j.runID)
		}
		var err error
		if rows[i], err = toRow(r, j.next+uint64(i), at); err != nil {
			return nil, fmt.Errorf("%s run %s: %w", prefix, j.runID, err)
		}
	}
	for i, r := range recs {
		r.Seq, r.Time = uint64(rows[i].seq), rows[i].time
	}
	j.next += uint64(len(recs))
	return rows, nil
}

// commit is the committer goroutine. It exits when Close closes wake,
// after writing whatever was queued.
func (j *Journal) commit() {
	defer close(j.done)
	var failed error
	for open := true; open; {
		_, open = <-j.wake
		j.mu.Lock()
		rows, waiters := j.queued, j.waiters
		j.queued, j.waiters = nil, nil
		j.mu.Unlock()
		if len(waiters) == 0 {
			continue
		}
		if failed == nil {
			if failed = j.write(rows); failed != nil {
				j.mu.Lock()
				j.err = failed
				j.mu.Unlock()
			}
		}
		for _, w := range waiters {
			w <- failed
		}
	}
}

// write commits rows, and the run's new outcome if they change it, in one
// batch: PostgreSQL runs a batch as one implicit transaction.
func (j *Journal) write(rows []row) error {
	batch := &pgx.Batch{}
	insert := j.b.sql(sqlInsertRecord)
	for _, r := range rows {
		batch.Queue(insert, r.args(j.b.workspace, j.runID)...)
	}
	if status, ended, changed := outcome(rows); changed {
		batch.Queue(j.b.sql(sqlSetOutcome), j.b.workspace, j.runID, status, ended)
	}
	if j.b.beforeCommit != nil {
		j.b.beforeCommit()
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	if err := j.lock.conn.SendBatch(ctx, batch).Close(); err != nil {
		return j.writeErr(err)
	}
	j.syncs.Add(1)
	return nil
}

func (j *Journal) writeErr(err error) error {
	if j.lock.conn.IsClosed() {
		err = fmt.Errorf("%s lost the connection holding the workspace lock: %w; "+
			"run %s takes no more records (its last batch may or may not be stored): resume it to go on",
			prefix, err, j.runID)
	} else {
		err = fmt.Errorf("%s run %s: writing records: %w", prefix, j.runID, err)
	}
	return mask(err, j.b.password)
}

// outcome is what rows do to the run's summary: a RunEnded sets its status
// and end, a later RunResumed opens the run again.
func outcome(rows []row) (status string, ended *time.Time, changed bool) {
	for _, r := range rows {
		switch state.RecordType(r.typ) {
		case state.RunEnded:
			status, ended, changed = r.status, &r.time, true
		case state.RunResumed:
			status, ended, changed = "", nil, true
		}
	}
	return status, ended, changed
}

// Syncs reports how many commits the journal made, counting the one that
// created the run (Create).
func (j *Journal) Syncs() int64 { return j.syncs.Load() }

// Close commits what is queued and releases the workspace lock. It
// returns the error that stopped appends, if any. Closing twice is
// harmless.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	close(j.wake)
	j.mu.Unlock()

	<-j.done
	j.mu.Lock()
	failed := j.err
	j.mu.Unlock()
	return errors.Join(failed, j.lock.release(j.b))
}

// row is a record as the records table holds it.
type row struct {
	seq                                int64
	time                               time.Time
	typ, step, message, status, digest string
	attempt                            int
	vals, run                          []byte
}

// toRow checks and converts r, which gets seq and, if it has none, the
// time at. Values must be JSON, as the local backend demands.
func toRow(r *state.Record, seq uint64, at time.Time) (row, error) {
	if len(r.Values) > 0 && !json.Valid(r.Values) {
		return row{}, fmt.Errorf("%s record: values are not valid JSON", r.Type)
	}
	var run []byte
	if r.Run != nil {
		var err error
		if run, err = json.Marshal(r.Run); err != nil {
			return row{}, fmt.Errorf("encoding %s record: %w", r.Type, err)
		}
	}
	if !r.Time.IsZero() {
		at = r.Time
	}
	return row{
		seq: int64(seq), time: at, typ: text(string(r.Type)), step: text(r.Step), message: text(r.Message),
		status: text(r.Status), digest: text(r.Digest), attempt: r.Attempt, vals: r.Values, run: run,
	}, nil
}

func (r row) args(workspace, runID string) []any {
	return []any{workspace, runID, r.seq, r.time, r.typ, r.step, r.attempt, r.message, r.status, r.digest, r.vals, r.run}
}

// text makes s storable in a text column, which takes neither NUL nor
// invalid UTF-8: an Append must not fail over an odd byte in an error
// message. Invalid UTF-8 becomes U+FFFD, as encoding/json (and so the
// local backend) does; NUL too.
func text(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
