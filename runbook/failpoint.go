package runbook

import (
	"context"
	"os"
	"strconv"
	"sync/atomic"
	"syscall"

	"github.com/runbook-dev/runbook/internal/state"
)

// CrashAfterEnv names a failpoint for crash tests: when it holds N, the
// process kills itself with SIGKILL right after its N-th journal record is
// durable. When the N-th record falls inside a batch, only the batch's
// records up to it are written: the state a crash in the middle of a
// batch's write leaves once the torn tail is dropped. The crash test walks N over every write of a run and resumes
// each time, proving no succeeded step runs twice. When unset it costs
// nothing: the journal is not wrapped.
const CrashAfterEnv = "RUNBOOK_FAILPOINT_CRASH_AFTER_RECORD"

type crashingJournal struct {
	state.Journal
	left atomic.Int64
}

// withFailpoint wraps j when the failpoint is set.
func withFailpoint(j state.Journal) state.Journal {
	n, err := strconv.Atoi(os.Getenv(CrashAfterEnv))
	if err != nil || n <= 0 {
		return j
	}
	c := &crashingJournal{Journal: j}
	c.left.Store(int64(n))
	return c
}

// AppendNoWait crashes at the same record count as Append; before that
// point it queues without waiting, as the real journal does.
func (c *crashingJournal) AppendNoWait(ctx context.Context, recs ...*state.Record) error {
	nw, ok := c.Journal.(state.NoWaitAppender)
	if !ok || c.left.Load() <= int64(len(recs)) {
		return c.Append(ctx, recs...)
	}
	c.left.Add(-int64(len(recs)))
	return nw.AppendNoWait(ctx, recs...)
}

func (c *crashingJournal) Append(ctx context.Context, recs ...*state.Record) error {
	left := c.left.Add(-int64(len(recs)))
	if left > 0 || left+int64(len(recs)) <= 0 {
		return c.Journal.Append(ctx, recs...)
	}
	if err := c.Journal.Append(ctx, recs[:int64(len(recs))+left]...); err != nil {
		return err
	}
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is on its way
}
