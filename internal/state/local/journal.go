package local

import (
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/runbook-dev/runbook/internal/state"
)

// Journal appends to one run's journal file, group-committed
// (state.GroupCommit): one write(2) and one fsync per batch of queued
// frames. After a failed write or sync the file's tail is unknown (Linux
// may drop dirty pages on a failed fsync), so appends stop; reopening keeps
// the frames that reached the disk whole, and resume treats them like any
// interrupted step.
type Journal struct {
	*state.GroupCommit[byte]
	path       string
	f          *os.File // opened O_APPEND
	lock       *wsLock
	beforeSync func() // test hook, see Backend.beforeSync
}

var _ state.NoWaitAppender = (*Journal)(nil)

func newJournal(path string, f *os.File, lk *wsLock, next uint64, syncs int64, beforeSync func()) *Journal {
	j := &Journal{path: path, f: f, lock: lk, beforeSync: beforeSync}
	j.GroupCommit = state.NewGroupCommit(state.GroupCommitConfig[byte]{
		Name: "journal " + path, Next: next, Syncs: syncs,
		Encode: appendFrame, Write: j.writeSync,
		Now: func() time.Time { return time.Now().UTC() },
	})
	return j
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
	return nil
}

// Close writes what is queued, closes the file and releases the workspace
// lock. It returns the error that stopped appends, if any. Closing twice
// is harmless.
func (j *Journal) Close() error {
	failed := j.GroupCommit.Close()
	if errors.Is(failed, state.ErrClosedTwice) {
		return nil
	}
	return errors.Join(failed, j.f.Close(), j.lock.release())
}
