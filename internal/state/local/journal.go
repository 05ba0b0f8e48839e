package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/runbook-dev/runbook/internal/state"
)

// Journal appends to one run's journal file. Appends are group-committed:
// callers queue encoded frames and wait; one committer goroutine takes
// everything queued, writes it with one write(2), syncs once, and releases
// every caller in the batch. A chain of dependent steps pays one sync per
// transition; parallel steps share syncs.
type Journal struct {
	path       string
	f          *os.File // opened O_APPEND
	lock       *wsLock
	beforeSync func() // test hook, see Backend.beforeSync
	syncs      atomic.Int64
	done       chan struct{} // closed when the committer exits

	mu      sync.Mutex
	next    uint64        // Seq of the next record
	queued  []byte        // frames not yet written
	waiters []chan error  // callers whose frames are in queued
	wake    chan struct{} // tells the committer there is work; closed by Close
	closed  bool
	// err is set once a write or sync fails. After that the file's tail
	// is unknown (Linux may drop dirty pages on a failed fsync), so the
	// journal refuses further appends. Reopening keeps the frames that
	// reached the disk whole; resume treats them like any interrupted step.
	err error
}

func newJournal(path string, f *os.File, lk *wsLock, next uint64, syncs int64, beforeSync func()) *Journal {
	j := &Journal{
		path:       path,
		f:          f,
		lock:       lk,
		beforeSync: beforeSync,
		done:       make(chan struct{}),
		next:       next,
		wake:       make(chan struct{}, 1),
	}
	j.syncs.Store(syncs)
	go j.commit()
	return j
}

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

// AppendNoWait queues recs like Append but returns before they are synced.
// The file is written in order, so the next Append (or Close) makes them
// durable too. For transitions a crash may lose without harm: the start of
// an idempotent step, which resume runs again anyway.
func (j *Journal) AppendNoWait(ctx context.Context, recs ...*state.Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return j.enqueue(recs, make(chan error, 1)) // nobody waits for this outcome
}

// enqueue encodes recs onto the queue and registers done to hear the
// outcome. Seq is assigned under the lock, so Seq order is file order.
func (j *Journal) enqueue(recs []*state.Record, done chan error) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case j.closed:
		return fmt.Errorf("journal %s: append after close: %w", j.path, os.ErrClosed)
	case j.err != nil:
		return j.err
	case len(recs) == 0:
		done <- nil
		return nil
	}
	frames, err := j.encode(recs)
	if err != nil {
		return err
	}
	j.queued = frames
	j.waiters = append(j.waiters, done)
	select {
	case j.wake <- struct{}{}:
	default: // the committer already has a wake-up pending
	}
	return nil
}

// encode appends recs to the queue's frames, and only when all of them
// encode does it give the callers' records their Seq and Time.
func (j *Journal) encode(recs []*state.Record) ([]byte, error) {
	now := time.Now().UTC()
	frames := j.queued
	stamped := make([]state.Record, len(recs))
	for i, r := range recs {
		if r == nil {
			return nil, fmt.Errorf("journal %s: nil record", j.path)
		}
		c := *r
		c.Seq = j.next + uint64(i)
		if c.Time.IsZero() {
			c.Time = now
		}
		var err error
		if frames, err = appendFrame(frames, &c); err != nil {
			return nil, fmt.Errorf("journal %s: %w", j.path, err)
		}
		stamped[i] = c
	}
	for i, r := range recs {
		r.Seq, r.Time = stamped[i].Seq, stamped[i].Time
	}
	j.next += uint64(len(recs))
	return frames, nil
}

// commit is the committer goroutine. It exits when Close closes wake,
// after writing whatever was queued.
func (j *Journal) commit() {
	defer close(j.done)
	var failed error
	for open := true; open; {
		_, open = <-j.wake
		j.mu.Lock()
		frames, waiters := j.queued, j.waiters
		j.queued, j.waiters = nil, nil
		j.mu.Unlock()
		if len(waiters) == 0 {
			continue
		}
		if failed == nil {
			if failed = j.writeSync(frames); failed != nil {
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

func (j *Journal) writeSync(frames []byte) error {
	if _, err := j.f.Write(frames); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	if j.beforeSync != nil {
		j.beforeSync()
	}
	if err := j.f.Sync(); err != nil {
		return fmt.Errorf("journal %s: %w", j.path, err)
	}
	j.syncs.Add(1)
	return nil
}

// Syncs reports how many times the journal file was synced, counting the
// sync that created it (Create) or truncated a torn tail (Open).
func (j *Journal) Syncs() int64 { return j.syncs.Load() }

// Close writes what is queued, closes the file and releases the workspace
// lock. It returns the error that stopped appends, if any. Closing twice
// is harmless.
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
	return errors.Join(failed, j.f.Close(), j.lock.release())
}
