package postgres

import (
	"sync"
	"sync/atomic"
	"testing"

	"github.com/runbook-dev/runbook/internal/state"
)

// BenchmarkAppendSequential is a chain of dependent steps: each Append
// waits for its own commit.
func BenchmarkAppendSequential(b *testing.B) {
	j := create(b, open(b, config(b)), runID)
	defer j.Close()
	start := j.Syncs()
	rec := &state.Record{Type: state.StepSucceeded, Step: "step.restore", Attempt: 1}
	for b.Loop() {
		if err := j.Append(b.Context(), rec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(j.Syncs()-start)/float64(b.N), "syncs/op")
}

// BenchmarkAppendParallel is 10 steps running at once (the default
// parallelism): their appends share commits.
func BenchmarkAppendParallel(b *testing.B) {
	const workers = 10
	j := create(b, open(b, config(b)), runID)
	defer j.Close()
	start := j.Syncs()
	var left atomic.Int64
	left.Store(int64(b.N))
	b.ResetTimer()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			rec := &state.Record{Type: state.StepSucceeded, Step: "step.evacuate", Attempt: 1}
			for left.Add(-1) >= 0 {
				if err := j.Append(b.Context(), rec); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	b.ReportMetric(float64(j.Syncs()-start)/float64(b.N), "syncs/op")
}
