package host

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/state/local"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/runbook"
)

// The benchmarks report, besides ns/op, the median of the per-iteration
// times ("median-ms" or "median-us"): a launch now and then waits for the
// scheduler or the disk, and the median is what the targets are about.

func reportMedian(b *testing.B, times []time.Duration, unit string) {
	if len(times) == 0 {
		return
	}
	slices.Sort(times)
	m := times[len(times)/2]
	switch unit {
	case "median-ms":
		b.ReportMetric(float64(m)/float64(time.Millisecond), unit)
	default:
		b.ReportMetric(float64(m)/float64(time.Microsecond), unit)
	}
}

// BenchmarkLaunch starts the test plugin (checksum check, process start,
// handshake with AutoMTLS), fetches its schema and stops it. The timed
// part is the launch, the handshake and the Schema call. Target: median
// under 30 ms.
func BenchmarkLaunch(b *testing.B) {
	tr := newTestRunbook(b, testRunbookSrc)
	tr.init(b)
	r := tr.host.resolve("test")
	if r.err != nil {
		b.Fatal(r.err)
	}
	var times []time.Duration
	for b.Loop() {
		start := time.Now()
		inst, err := tr.host.launch("test", r.plugin.Path, r.sha)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := inst.prov.Schema(context.Background()); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
		b.StopTimer()
		tr.host.stop(inst)
		b.StartTimer()
	}
	reportMedian(b, times, "median-ms")
}

// BenchmarkApplyRoundTrip is one trivial Apply (test.noop) on a running
// plugin, through the host's provider. Target: median under 150 µs.
func BenchmarkApplyRoundTrip(b *testing.B) {
	tr := newTestRunbook(b, testRunbookSrc)
	tr.init(b)
	p := tr.configured(b, "bench")
	req := &provider.Request{Action: "noop", Inputs: cty.EmptyObjectVal, Step: "step.noop"}
	ctx := context.Background()
	if _, err := p.Apply(ctx, req); err != nil { // launched
		b.Fatal(err)
	}
	times := make([]time.Duration, 0, 1<<16)
	b.ReportAllocs()
	for b.Loop() {
		start := time.Now()
		if _, err := p.Apply(ctx, req); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	reportMedian(b, times, "median-us")
}

// BenchmarkBareGRPCCall is the baseline of BenchmarkApplyRoundTrip: one
// empty unary call (Stop, with nothing to stop) on the same go-plugin
// connection, without the host or the value conversions.
func BenchmarkBareGRPCCall(b *testing.B) {
	tr := newTestRunbook(b, testRunbookSrc)
	tr.init(b)
	p := tr.configured(b, "bench")
	ctx := context.Background()
	inst, err := p.instance(ctx)
	if err != nil {
		b.Fatal(err)
	}
	times := make([]time.Duration, 0, 1<<16)
	for b.Loop() {
		start := time.Now()
		if err := inst.prov.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		times = append(times, time.Since(start))
	}
	reportMedian(b, times, "median-us")
}

// BenchmarkApply10kPluginSteps applies 10,000 independent test.noop steps
// through the engine, with the host as its provider factory and a local
// journal: every step is a gRPC round trip to one plugin process. Target:
// under 3 s.
func BenchmarkApply10kPluginSteps(b *testing.B) {
	const n = 10000
	body := "runbook \"noop\" {\n  version = \"1.0.0\"\n  required_providers {\n    test = \">= 1.0\"\n  }\n}\n\n"
	for i := range n {
		body += fmt.Sprintf("step \"s%d\" {\n  action = test.noop\n}\n\n", i)
	}
	tr := newTestRunbook(b, body)
	tr.init(b)
	var times []time.Duration
	for b.Loop() {
		b.StopTimer()
		h := tr.newHost(b)
		backend, err := local.New(filepath.Join(b.TempDir(), "state"))
		if err != nil {
			b.Fatal(err)
		}
		sealer, err := runbook.NewSealer(make([]byte, 32))
		if err != nil {
			b.Fatal(err)
		}
		eng := &runbook.Engine{Schemas: h.Schemas(), Providers: h.Provider, Backend: backend, Sealer: sealer}
		vars, diags := dsl.NewLoader().ResolveVariables(tr.cfg, nil, nil)
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		b.StartTimer()
		start := time.Now()
		res, diags, err := eng.Apply(context.Background(), tr.cfg, runbook.ApplyOptions{Vars: vars, Parallelism: 10})
		if err != nil || diags.HasErrors() {
			b.Fatal(err, diags)
		}
		if res.Status != runbook.RunFinished {
			b.Fatalf("run %s", res.Status)
		}
		times = append(times, time.Since(start))
		b.StopTimer()
		backend.Close()
		if got := h.Launches(); got != 1 {
			b.Fatalf("%d launches, want 1", got)
		}
		b.StartTimer()
	}
	reportMedian(b, times, "median-ms")
}
