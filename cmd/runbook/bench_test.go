package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/runbook-dev/runbook/internal/testgen"
)

// The benchmarks in this file run the real binary as a user does and
// report, besides ns/op, its peak resident memory ("peak-MB", the largest
// over the iterations) and, for runs, the journal syncs of one run
// ("syncs", the mean over the iterations, from the run_ended event of
// --json). Every run journals to a new state directory under the
// benchmark's temporary directory, so syncs go to a real disk when
// $TMPDIR is on one (a tmpfs makes fsync free and the figures optimistic).
// Stdout goes to a file there, read for its last line after the run;
// stderr is discarded.

// BenchmarkPlanProcess10k measures `runbook plan` of a generated
// 10,000-step runbook as a whole process, as a user runs it, and reports
// its peak resident memory. Targets: under 1 s and 300 MB.
func BenchmarkPlanProcess10k(b *testing.B) {
	bin := runbookBinary(b)
	dir := b.TempDir()
	if err := testgen.WriteLargeRunbook(dir, 10000); err != nil {
		b.Fatal(err)
	}
	var peak int64
	for b.Loop() {
		cmd := exec.Command(bin, "plan", dir)
		cmd.Stdout, cmd.Stderr = nil, nil
		if err := cmd.Run(); err != nil {
			b.Fatalf("runbook plan: %v", err)
		}
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > peak {
			peak = ru.Maxrss
		}
	}
	b.ReportMetric(float64(peak)/1024, "peak-MB")
}

// BenchmarkApplyFanOutIn1000 applies 1,000 no-op steps: a root, 998 steps
// that wait for it, and one that waits for all of them. Target: 0.1 s.
func BenchmarkApplyFanOutIn1000(b *testing.B) {
	benchApply(b, noopRunbook(b, testgen.FanOutIn, 1000, false))
}

// BenchmarkApplyChain1000 applies a chain of 1,000 no-op steps, each
// waiting for the one before: nothing can share a journal sync. Target:
// 0.15 s.
func BenchmarkApplyChain1000(b *testing.B) {
	benchApply(b, noopRunbook(b, testgen.Chain, 1000, false))
}

// BenchmarkApplyFanOut10k applies 10,000 independent no-op steps.
// Targets: 1 s and 200 MB.
func BenchmarkApplyFanOut10k(b *testing.B) {
	benchApply(b, noopRunbook(b, testgen.FanOut, 10000, false))
}

// BenchmarkApplyExec1000 applies 1,000 independent core.exec steps of
// `true`, 10 at a time. Target: within 1.2x BenchmarkForkExec1000, the
// cost of the processes alone.
func BenchmarkApplyExec1000(b *testing.B) {
	benchApply(b, noopRunbook(b, testgen.FanOut, 1000, true), "--parallelism", "10")
}

// BenchmarkForkExec1000 is BenchmarkApplyExec1000's baseline: 1,000 runs
// of `true` from 10 goroutines of the benchmark process, with nothing
// else around them.
func BenchmarkForkExec1000(b *testing.B) {
	const n, workers = 1000, 10
	for b.Loop() {
		var next atomic.Int64
		errs := make(chan error, workers)
		var wg sync.WaitGroup
		for range workers {
			wg.Go(func() {
				for next.Add(1) <= n {
					if err := exec.Command("true").Run(); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatalf("true: %v", err)
		}
	}
}

// BenchmarkResume10kOneLeft resumes a failed 10,000-step run whose only
// unfinished step is the last: it waits for all the others and failed
// because a gate file was missing, which now exists. Each iteration
// resumes a fresh copy of the failed run's state directory (the copy is
// not timed), by run ID and PATH, so the figure is the whole resume:
// loading the runbook, reading the journal, restoring 9,999 steps and
// running one. (`resume last` also reads every journal to find the
// newest; without PATH the journal is read once more.) Target: 0.3 s.
func BenchmarkResume10kOneLeft(b *testing.B) {
	const n = 10000
	bin := runbookBinary(b)
	work := b.TempDir()
	rb := filepath.Join(work, "runbook")
	gate := filepath.Join(work, "gate")
	if err := os.Mkdir(rb, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := testgen.WriteGatedRunbook(rb, n, gate); err != nil {
		b.Fatal(err)
	}
	failedState := filepath.Join(work, "failed")
	out := filepath.Join(work, "stdout")
	_, err := runProcess(bin, out, "apply", "--json", "--state-dir", failedState, rb)
	if exitStatus(err) != 1 {
		b.Fatalf("the first apply should fail with exit status 1: %v", err)
	}
	end := runEnded(b, out, "failed")
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		b.Fatal(err)
	}
	var m procMetrics
	stateDir := filepath.Join(work, "state")
	for b.Loop() {
		b.StopTimer()
		if err := os.RemoveAll(stateDir); err != nil {
			b.Fatal(err)
		}
		if err := testgen.CopyDir(failedState, stateDir); err != nil {
			b.Fatal(err)
		}
		if err := os.Remove(out); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		ps, err := runProcess(bin, out, "resume", end.RunID, "--json", "--state-dir", stateDir, rb)
		b.StopTimer()
		if err != nil {
			b.Fatalf("runbook resume: %v", err)
		}
		m.add(ps, runEnded(b, out, "finished"))
		b.StartTimer()
	}
	m.report(b)
}

// noopRunbook writes a generated no-op runbook to a new directory.
func noopRunbook(b *testing.B, shape testgen.Shape, n int, execTrue bool) string {
	b.Helper()
	dir := b.TempDir()
	if err := testgen.WriteNoopRunbook(dir, shape, n, execTrue); err != nil {
		b.Fatal(err)
	}
	return dir
}

// benchApply runs `runbook apply --json` of the runbook in dir once per
// iteration, each time into a new state directory, and reports peak-MB
// and syncs.
func benchApply(b *testing.B, dir string, flags ...string) {
	b.Helper()
	bin := runbookBinary(b)
	work := b.TempDir()
	stateDir := filepath.Join(work, "state")
	out := filepath.Join(work, "stdout")
	args := append([]string{"apply", "--json", "--state-dir", stateDir}, flags...)
	args = append(args, dir)
	var m procMetrics
	for b.Loop() {
		b.StopTimer()
		if err := os.RemoveAll(stateDir); err != nil {
			b.Fatal(err)
		}
		if err := os.Remove(out); err != nil && !os.IsNotExist(err) {
			b.Fatal(err)
		}
		b.StartTimer()
		ps, err := runProcess(bin, out, args...)
		b.StopTimer()
		if err != nil {
			b.Fatalf("runbook apply: %v", err)
		}
		m.add(ps, runEnded(b, out, "finished"))
		b.StartTimer()
	}
	m.report(b)
}

// runProcess runs the binary with stdout to the file out (for its last
// line) and stderr discarded.
func runProcess(bin, out string, args ...string) (*os.ProcessState, error) {
	f, err := os.Create(out)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = f, nil
	err = cmd.Run()
	return cmd.ProcessState, err
}

func exitStatus(err error) int {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// runEndedEvent is the part of the --json run_ended event the benchmarks
// read (internal/ui.JSONView writes it).
type runEndedEvent struct {
	Type      string `json:"type"`
	RunID     string `json:"run_id"`
	RunStatus string `json:"run_status"`
	Syncs     int64  `json:"syncs"`
}

// runEnded reads the run_ended event from the last line of a --json
// output file and checks the run's status.
func runEnded(b *testing.B, out, status string) runEndedEvent {
	b.Helper()
	line, err := lastLine(out)
	if err != nil {
		b.Fatal(err)
	}
	var ev runEndedEvent
	if err := json.Unmarshal(line, &ev); err != nil {
		b.Fatalf("last line of the --json output: %v: %q", err, line)
	}
	if ev.Type != "run_ended" || ev.RunStatus != status {
		b.Fatalf("the run did not end %s: %s", status, line)
	}
	if ev.Syncs <= 0 {
		b.Fatalf("run_ended reports no journal syncs: %s", line)
	}
	return ev
}

// lastLine returns the last non-empty line of a file, reading only its end.
func lastLine(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	const tail = 64 << 10
	off := max(0, fi.Size()-tail)
	buf := make([]byte, fi.Size()-off)
	if _, err := f.ReadAt(buf, off); err != nil && err != io.EOF {
		return nil, err
	}
	buf = bytes.TrimRight(buf, "\n")
	if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
		buf = buf[i+1:]
	}
	if len(buf) == 0 {
		return nil, fmt.Errorf("%s: no output", path)
	}
	return buf, nil
}

// procMetrics accumulates the per-process figures of a benchmark.
type procMetrics struct {
	peakKiB int64
	syncs   int64
	runs    int64
}

func (m *procMetrics) add(ps *os.ProcessState, ev runEndedEvent) {
	if ru, ok := ps.SysUsage().(*syscall.Rusage); ok && ru.Maxrss > m.peakKiB {
		m.peakKiB = ru.Maxrss // KiB on Linux
	}
	m.syncs += ev.Syncs
	m.runs++
}

func (m *procMetrics) report(b *testing.B) {
	b.ReportMetric(float64(m.peakKiB)/1024, "peak-MB")
	if m.runs > 0 {
		b.ReportMetric(float64(m.syncs)/float64(m.runs), "syncs")
	}
}
