package state

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// GroupCommit is the append path every backend shares: callers queue
// encoded records and wait; one committer goroutine takes everything
// queued, writes it with one durable commit, and releases every caller in
// the batch. A chain of dependent steps pays one commit per transition;
// parallel steps share commits. T is what a backend queues: the bytes of
// a file's frames, or table rows.
type GroupCommit[T any] struct {
	cfg   GroupCommitConfig[T]
	syncs atomic.Int64
	done  chan struct{} // closed when the committer exits

	mu      sync.Mutex
	next    uint64        // Seq of the next record
	queued  []T           // encoded, not yet committed
	waiters []chan error  // callers whose records are in queued
	wake    chan struct{} // tells the committer there is work; closed by Close
	closed  bool
	// err is set once a commit fails. Whether it reached stable storage is
	// then unknown (a failed fsync may drop dirty pages; a lost connection
	// may have lost only the reply), so further appends are refused;
	// reopening shows what was stored.
	err error
}

// GroupCommitConfig is what a backend gives its GroupCommit.
type GroupCommitConfig[T any] struct {
	// Name starts every error, e.g. "journal PATH".
	Name string
	// Next is the Seq of the first record to append; Syncs the commits
	// already made (creating or repairing the journal).
	Next  uint64
	Syncs int64
	// Encode appends r, which has its Seq and Time, to dst.
	Encode func(dst []T, r *Record) ([]T, error)
	// Write commits a batch durably.
	Write func(batch []T) error
	// Now stamps records that have no Time.
	Now func() time.Time
}

// NewGroupCommit starts the committer; Close stops it.
func NewGroupCommit[T any](cfg GroupCommitConfig[T]) *GroupCommit[T] {
	g := &GroupCommit[T]{cfg: cfg, done: make(chan struct{}), next: cfg.Next, wake: make(chan struct{}, 1)}
	g.syncs.Store(cfg.Syncs)
	go g.commit()
	return g
}

// Append writes recs durably, assigning their Seq (in append order) and,
// when zero, their Time. The context is only checked before the records
// are queued: once queued they will be written, and the caller must learn
// whether they are durable before acting on them.
func (g *GroupCommit[T]) Append(ctx context.Context, recs ...*Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	done := make(chan error, 1)
	if err := g.enqueue(recs, done); err != nil {
		return err
	}
	return <-done
}

// AppendNoWait queues recs like Append but returns before they are
// committed; commits are in order, so the next Append (or Close) makes
// them durable too.
func (g *GroupCommit[T]) AppendNoWait(ctx context.Context, recs ...*Record) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return g.enqueue(recs, make(chan error, 1)) // nobody waits for this outcome
}

// enqueue encodes recs onto the queue and registers done to hear the
// outcome. Seq is assigned under the lock, so Seq order is commit order.
func (g *GroupCommit[T]) enqueue(recs []*Record, done chan error) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	switch {
	case g.closed:
		return fmt.Errorf("%s: append after close: %w", g.cfg.Name, os.ErrClosed)
	case g.err != nil:
		return g.err
	case len(recs) == 0:
		done <- nil
		return nil
	}
	if err := g.encode(recs); err != nil {
		return err
	}
	g.waiters = append(g.waiters, done)
	select {
	case g.wake <- struct{}{}:
	default: // the committer already has a wake-up pending
	}
	return nil
}

// encode queues recs, and only when all of them encode does it give the
// callers' records their Seq and Time: a bad record uses no Seq.
func (g *GroupCommit[T]) encode(recs []*Record) error {
	now := g.cfg.Now()
	queued := g.queued
	stamped := make([]Record, len(recs))
	for i, r := range recs {
		if r == nil {
			return fmt.Errorf("%s: nil record", g.cfg.Name)
		}
		c := *r
		c.Seq = g.next + uint64(i)
		if c.Time.IsZero() {
			c.Time = now
		}
		var err error
		if queued, err = g.cfg.Encode(queued, &c); err != nil {
			return fmt.Errorf("%s: %w", g.cfg.Name, err)
		}
		stamped[i] = c
	}
	for i, r := range recs {
		r.Seq, r.Time = stamped[i].Seq, stamped[i].Time
	}
	g.queued = queued
	g.next += uint64(len(recs))
	return nil
}

// commit is the committer goroutine. It exits when Close closes wake,
// after writing whatever was queued.
func (g *GroupCommit[T]) commit() {
	defer close(g.done)
	var failed error
	for open := true; open; {
		_, open = <-g.wake
		g.mu.Lock()
		batch, waiters := g.queued, g.waiters
		g.queued, g.waiters = nil, nil
		g.mu.Unlock()
		if len(waiters) == 0 {
			continue
		}
		if failed == nil {
			if failed = g.cfg.Write(batch); failed != nil {
				g.mu.Lock()
				g.err = failed
				g.mu.Unlock()
			} else {
				g.syncs.Add(1)
			}
		}
		for _, w := range waiters {
			w <- failed
		}
	}
}

// Waiting reports how many appends are queued for the next commit (tests
// use it to line appends up behind a commit in progress).
func (g *GroupCommit[T]) Waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.waiters)
}

// Syncs reports how many commits were made, counting Config.Syncs.
func (g *GroupCommit[T]) Syncs() int64 { return g.syncs.Load() }

// ErrClosedTwice is what Close returns after the first time: the caller
// has nothing more to release.
var ErrClosedTwice = errors.New("closed already")

// Close commits what is queued and stops the committer. It returns the
// error that stopped appends, if any, or ErrClosedTwice.
func (g *GroupCommit[T]) Close() error {
	g.mu.Lock()
	if g.closed {
		g.mu.Unlock()
		return ErrClosedTwice
	}
	g.closed = true
	close(g.wake)
	g.mu.Unlock()
	<-g.done
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
