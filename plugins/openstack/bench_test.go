package openstack

import (
	"fmt"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
)

// BenchmarkHostEvacuate runs host_evacuate end to end (Keystone, Nova's
// services, hypervisors and servers, evacuations, polling) against the
// fake Nova, 1,000 instances that each take L to evacuate, and reports the
// elapsed time over ceil(1000/P) x L. Unlike BenchmarkEvacuationScheduler
// it includes the preparation (listing the 1,000 instances, services and
// hypervisors, placing) and the polling (the poll interval is L/20; see
// hostEvacuate.pace). x_ideal is the whole action over ceil(1000/P) x L;
// moves_x_ideal starts the clock at the first evacuation.
//
//	go test -run '^$' -bench HostEvacuate -benchtime 1x ./plugins/openstack/
func BenchmarkHostEvacuate(b *testing.B) {
	const n = 1000
	for _, bc := range []struct {
		p int
		l time.Duration
	}{{10, 200 * time.Millisecond}, {50, 200 * time.Millisecond}, {50, time.Second}} {
		p, l := bc.p, bc.l
		b.Run(fmt.Sprintf("P=%d/L=%s", p, l), func(b *testing.B) {
			var worst, worstMoves float64
			for b.Loop() {
				b.StopTimer()
				fn := newFakeNova(b, l)
				fn.fc.quiet = true
				fn.host("compute-1", 1024, 1<<20)
				fn.host("compute-2", 1024, 1<<20)
				fn.host("compute-3", 1024, 1<<20)
				for i := range n {
					fn.server(fmt.Sprintf("vm-%04d", i), "compute-1", 1, 512)
				}
				prov := fn.fc.provider(map[string]cty.Value{"poll_interval": str((l / 20).String())})
				b.StartTimer()
				start := time.Now()
				c := apply(b, prov, "host_evacuate", map[string]cty.Value{
					"failed_host": str("compute-1"), "parallelism": cty.NumberIntVal(int64(p)), "spread": cty.True,
				})
				elapsed := time.Since(start)
				if c.err != nil {
					b.Fatal(c.err)
				}
				if out := decode[HostEvacuateOut](b, c.out); out.Succeeded != n {
					b.Fatalf("%d of %d succeeded: %s", out.Succeeded, n, out.Message)
				}
				worst = max(worst, float64(elapsed)/float64(ideal(n, p, l)))
				fn.mu.Lock()
				moves := time.Since(fn.first) - (time.Since(start) - elapsed)
				fn.mu.Unlock()
				worstMoves = max(worstMoves, float64(moves)/float64(ideal(n, p, l)))
			}
			b.ReportMetric(worst, "x_ideal")
			b.ReportMetric(worstMoves, "moves_x_ideal")
			b.ReportMetric(float64(ideal(n, p, l).Milliseconds()), "ideal_ms")
		})
	}
}
