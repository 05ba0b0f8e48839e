package state_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/state"
)

// memory commits Seqs to a slice; fail makes the next commit fail.
type memory struct {
	mu        sync.Mutex
	committed []uint64
	fail      error
}

func newCommit(m *memory) *state.GroupCommit[uint64] {
	return state.NewGroupCommit(state.GroupCommitConfig[uint64]{
		Name: "test", Next: 1,
		Encode: func(dst []uint64, r *state.Record) ([]uint64, error) {
			if r.Type == "bad" {
				return dst, errors.New("bad record")
			}
			return append(dst, r.Seq), nil
		},
		Write: func(batch []uint64) error {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.fail != nil {
				return m.fail
			}
			m.committed = append(m.committed, batch...)
			return nil
		},
		Now: time.Now,
	})
}

func TestGroupCommit(t *testing.T) {
	m := &memory{}
	g := newCommit(m)
	ctx := context.Background()
	a, b := &state.Record{Type: "a"}, &state.Record{Type: "b"}
	if err := g.Append(ctx, a, b); err != nil || a.Seq != 1 || b.Seq != 2 || a.Time.IsZero() {
		t.Fatalf("Append: %v, seqs %d %d", err, a.Seq, b.Seq)
	}
	// A bad record fails its own call alone and uses no Seq.
	if err := g.Append(ctx, &state.Record{Type: "c"}, &state.Record{Type: "bad"}); err == nil {
		t.Fatal("a bad record was appended")
	}
	c := &state.Record{Type: "c"}
	if err := g.AppendNoWait(ctx, c); err != nil || c.Seq != 3 {
		t.Fatalf("AppendNoWait: %v, seq %d", err, c.Seq)
	}
	m.mu.Lock()
	m.fail = errors.New("disk gone")
	m.mu.Unlock()
	if err := g.Append(ctx, &state.Record{Type: "d"}); err == nil {
		t.Fatal("a failed commit was reported durable")
	}
	if err := g.Append(ctx, &state.Record{Type: "e"}); err == nil {
		t.Fatal("appends go on after a failed commit")
	}
	if err := g.Close(); err == nil || !errors.Is(g.Close(), state.ErrClosedTwice) {
		t.Errorf("Close hid the failure, or closed twice: %v", err)
	}
	if err := g.Append(ctx, &state.Record{Type: "f"}); err == nil {
		t.Error("Append after Close succeeded")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if len(m.committed) < 2 || m.committed[0] != 1 || m.committed[1] != 2 {
		t.Errorf("committed %v", m.committed)
	}
}
