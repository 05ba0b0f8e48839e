package openstack

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunParallel(t *testing.T) {
	for _, tc := range []struct{ n, p int }{{0, 4}, {1, 4}, {10, 1}, {10, 3}, {100, 50}, {5, 100}} {
		var running, peak atomic.Int64
		var mu sync.Mutex
		var order []int
		runParallel(t.Context(), tc.n, tc.p, func(_ context.Context, i int) {
			now := running.Add(1)
			for {
				old := peak.Load()
				if now <= old || peak.CompareAndSwap(old, now) {
					break
				}
			}
			mu.Lock()
			order = append(order, i)
			mu.Unlock()
			time.Sleep(time.Millisecond)
			running.Add(-1)
		})
		if len(order) != tc.n {
			t.Errorf("n=%d p=%d: %d jobs ran", tc.n, tc.p, len(order))
		}
		seen := map[int]bool{}
		for _, i := range order {
			if seen[i] || i < 0 || i >= tc.n {
				t.Errorf("n=%d p=%d: job %d ran twice or is out of range", tc.n, tc.p, i)
			}
			seen[i] = true
		}
		if want := int64(min(tc.n, tc.p)); peak.Load() > want || (tc.n > 0 && peak.Load() < 1) {
			t.Errorf("n=%d p=%d: %d jobs at once, want at most %d", tc.n, tc.p, peak.Load(), want)
		}
	}
}

// TestRunParallelCancelled: every job is still called, and one that
// starts after the cancellation sees it, so that it can record it was not
// started.
func TestRunParallelCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	var called, cancelled atomic.Int64
	runParallel(ctx, 20, 1, func(ctx context.Context, i int) {
		called.Add(1)
		if i == 0 {
			cancel()
			return
		}
		if ctx.Err() != nil {
			cancelled.Add(1)
		}
	})
	if called.Load() != 20 || cancelled.Load() != 19 {
		t.Errorf("called %d, saw the cancellation %d; want 20, 19", called.Load(), cancelled.Load())
	}
	called.Store(0)
	runParallel(ctx, 20, 4, func(ctx context.Context, _ int) {
		if ctx.Err() != nil {
			called.Add(1)
		}
	})
	if called.Load() != 20 {
		t.Errorf("after the cancellation, %d of 20 jobs saw it", called.Load())
	}
}

// schedule evacuates n fake instances of per-VM time l with parallelism
// p, the way host_evacuate does (a worker per slot, one job per VM, a
// progress report per VM under a lock), and returns the elapsed time.
func schedule(n, p int, l time.Duration) time.Duration {
	var mu sync.Mutex
	done := 0
	start := time.Now()
	runParallel(context.Background(), n, p, func(ctx context.Context, _ int) {
		t := time.NewTimer(l)
		select {
		case <-ctx.Done():
		case <-t.C:
		}
		mu.Lock()
		done++
		mu.Unlock()
	})
	return time.Since(start)
}

// ideal is ceil(n/p) x l, the least a bounded evacuation can take.
func ideal(n, p int, l time.Duration) time.Duration {
	return time.Duration((n+p-1)/p) * l
}

// BenchmarkEvacuationScheduler evacuates 1,000 instances with a fake
// per-VM time L at parallelism 10 and 50, and reports the elapsed time
// over ceil(1000/P) x L (the budget is 1.05).
func BenchmarkEvacuationScheduler(b *testing.B) {
	const n = 1000
	for _, bc := range []struct {
		name string
		p    int
		l    time.Duration
	}{
		{"P=10/L=20ms", 10, 20 * time.Millisecond},
		{"P=50/L=20ms", 50, 20 * time.Millisecond},
		{"P=50/L=100ms", 50, 100 * time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var worst float64
			for b.Loop() {
				ratio := float64(schedule(n, bc.p, bc.l)) / float64(ideal(n, bc.p, bc.l))
				worst = max(worst, ratio)
			}
			b.ReportMetric(worst, "x_ideal")
			b.ReportMetric(float64(ideal(n, bc.p, bc.l).Milliseconds()), "ideal_ms")
		})
	}
}

// TestEvacuationSchedulerBudget holds the scheduler to the benchmark's
// budget: 1,000 instances within 1.05 x ceil(1000/P) x L for P = 10 and
// 50. The best of three runs counts, so that a loaded machine's hiccup
// does not fail it.
func TestEvacuationSchedulerBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("timing test")
	}
	const n = 1000
	for _, tc := range []struct {
		p int
		l time.Duration
	}{{10, 30 * time.Millisecond}, {50, 50 * time.Millisecond}} {
		best := 1e9
		for range 3 {
			r := float64(schedule(n, tc.p, tc.l)) / float64(ideal(n, tc.p, tc.l))
			best = min(best, r)
			if best <= 1.05 {
				break
			}
		}
		t.Logf("P=%d L=%s: %.4f x ceil(%d/P) x L", tc.p, tc.l, best, n)
		if best > 1.05 {
			t.Errorf("P=%d L=%s: %.3f x the ideal, over the 1.05 budget", tc.p, tc.l, best)
		}
	}
}
