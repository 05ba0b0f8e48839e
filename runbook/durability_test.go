package runbook_test

import (
	"context"
	"sync"
	"testing"

	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/runbook"
)

// syncLog records, for each step's success, whether it was written with a
// waited (durable) Append or queued with AppendNoWait.
type syncLog struct {
	state.Backend
	mu     sync.Mutex
	waited map[string]bool
}

type loggedJournal struct {
	state.Journal
	log *syncLog
}

func (b *syncLog) Create(ctx context.Context, info *state.RunInfo) (state.Journal, error) {
	j, err := b.Backend.Create(ctx, info)
	if err != nil {
		return nil, err
	}
	return &loggedJournal{Journal: j, log: b}, nil
}

func (j *loggedJournal) note(recs []*state.Record, waited bool) {
	j.log.mu.Lock()
	defer j.log.mu.Unlock()
	for _, r := range recs {
		if r.Type == state.StepSucceeded {
			j.log.waited[r.Step] = waited
		}
	}
}

func (j *loggedJournal) Append(ctx context.Context, recs ...*state.Record) error {
	j.note(recs, true)
	return j.Journal.Append(ctx, recs...)
}

func (j *loggedJournal) AppendNoWait(ctx context.Context, recs ...*state.Record) error {
	j.note(recs, false)
	return j.Journal.(state.NoWaitAppender).AppendNoWait(ctx, recs...)
}

// TestSuccessDurableBeforeHarmlessLaunch: the success of a step that must
// not run twice is written durably before the next launch, even when that
// launch is idempotent (whose own start record may be queued); the
// success of an idempotent step may ride along unsynced.
func TestSuccessDurableBeforeHarmlessLaunch(t *testing.T) {
	h := newHarness(t)
	log := &syncLog{Backend: h.backend, waited: map[string]bool{}}
	h.engine.Backend = log
	res := h.apply(context.Background(), `
step "mutate" {
  action = fake.do
}
step "read1" {
  action     = fake.read
  depends_on = [step.mutate]
}
step "read2" {
  action     = fake.read
  depends_on = [step.read1]
}
step "read3" {
  action     = fake.read
  depends_on = [step.read2]
}
`, runbook.ApplyOptions{})
	if res.Status != runbook.RunFinished {
		t.Fatalf("status %s", res.Status)
	}
	log.mu.Lock()
	defer log.mu.Unlock()
	if !log.waited["step.mutate"] {
		t.Error("step.mutate's success was queued unsynced before an idempotent step launched")
	}
	if log.waited["step.read1"] && log.waited["step.read2"] {
		t.Error("every idempotent success waited for a sync: the chain optimisation is gone")
	}
}
