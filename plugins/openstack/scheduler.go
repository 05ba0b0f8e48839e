package openstack

import (
	"context"
	"sync"
	"sync/atomic"
)

// runParallel calls job(ctx, i) for every i in [0, n), in order of i, at
// most p at a time, and returns when every call has returned. A worker
// takes the next index as soon as its job ends, so the p slots stay busy:
// n jobs of time L each take ceil(n/p) x L plus the cost of handing out
// indexes (an atomic add). A job is called even after ctx ends, so that it
// can record that it was cancelled: it must check ctx itself.
func runParallel(ctx context.Context, n, p int, job func(ctx context.Context, i int)) {
	if n <= 0 {
		return
	}
	p = max(1, min(p, n))
	var next atomic.Int64
	var wg sync.WaitGroup
	wg.Add(p)
	for range p {
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				job(ctx, i)
			}
		}()
	}
	wg.Wait()
}
