package main

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/internal/state/local"
	"github.com/runbook-dev/runbook/runbook"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// runbookBinary builds the real command once for the tests that need a
// separate process (a SIGKILL or a SIGINT) and for the whole-process
// benchmarks.
func runbookBinary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "runbook-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "runbook")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = errors.New(string(out))
		}
	})
	if binErr != nil {
		t.Fatalf("building runbook: %v", binErr)
	}
	return binPath
}

// TestCrashAtEveryJournalRecord kills a real `runbook apply` right after
// each successive journal record, resumes it, and proves that the run
// finishes and that no step whose success was journaled ran again.
func TestCrashAtEveryJournalRecord(t *testing.T) {
	bin := runbookBinary(t)
	rb, err := filepath.Abs("testdata/crash")
	if err != nil {
		t.Fatal(err)
	}
	for n := 1; ; n++ {
		work := t.TempDir()
		logFile := filepath.Join(work, "ran.log")
		stateDir := filepath.Join(work, "state")
		apply := exec.Command(bin, "apply", "--state-dir", stateDir, "-var", "log="+logFile, rb)
		apply.Env = append(os.Environ(), runbook.CrashAfterEnv+"="+strconv.Itoa(n))
		out, err := apply.CombinedOutput()
		if err == nil {
			if n < 3 {
				t.Fatalf("the run finished before crash point %d", n)
			}
			t.Logf("crashed and resumed at each of %d journal records", n-1)
			return
		}
		if !killed(err) {
			t.Fatalf("crash point %d: apply failed without the failpoint: %v\n%s", n, err, out)
		}
		done, finished := succeededSteps(t, stateDir)
		before := countRuns(t, logFile)
		resume := exec.Command(bin, "resume", "last", "--state-dir", stateDir, rb)
		out, err = resume.CombinedOutput()
		switch {
		case finished && (err == nil || !strings.Contains(string(out), "already finished")):
			t.Fatalf("crash point %d: resuming a finished run did not refuse: %v\n%s", n, err, out)
		case !finished && err != nil:
			t.Fatalf("crash point %d: resume failed: %v\n%s", n, err, out)
		}
		after := countRuns(t, logFile)
		for step := range done {
			if step == "done" {
				continue // a finally step runs at the end of every execution
			}
			if after[step] != before[step] {
				t.Errorf("crash point %d: %s succeeded before the crash and ran again (%d -> %d)", n, step, before[step], after[step])
			}
		}
		for _, step := range []string{"a", "fan-x", "fan-y", "fan-z", "join", "b", "c-0", "done"} {
			if after[step] == 0 {
				t.Errorf("crash point %d: %s never ran", n, step)
			}
		}
	}
}

func killed(err error) bool {
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return false
	}
	ws, ok := ee.Sys().(syscall.WaitStatus)
	return ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
}

// succeededSteps maps the journal's succeeded units to the names their
// commands log, and says whether the run had already finished.
func succeededSteps(t *testing.T, stateDir string) (map[string]bool, bool) {
	t.Helper()
	b, err := local.New(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := b.List(context.Background())
	if err != nil || len(runs) != 1 {
		t.Fatalf("runs: %v %v", runs, err)
	}
	recs, err := b.Read(context.Background(), runs[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{
		"step.a": "a", `step.fan["x"]`: "fan-x", `step.fan["y"]`: "fan-y", `step.fan["z"]`: "fan-z",
		"step.join": "join", "step.b": "b", "step.c": "c-0", "step.done": "done",
	}
	out, finished := map[string]bool{}, false
	for _, r := range recs {
		if r.Type == state.StepSucceeded && names[r.Step] != "" {
			out[names[r.Step]] = true
		}
		finished = finished || (r.Type == state.RunEnded && r.Status == string(runbook.RunFinished))
	}
	return out, finished
}

func countRuns(t *testing.T, logFile string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(logFile)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Fields(string(b)) {
		out[line]++
	}
	return out
}

// TestCrashMidFlightAsksForRerun crashes right after a non-idempotent
// step was journaled as started: resume cannot know whether it ran, so it
// stops and asks, again on every resume, until --rerun settles it.
func TestCrashMidFlightAsksForRerun(t *testing.T) {
	bin := runbookBinary(t)
	rb, err := filepath.Abs("testdata/once")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	logFile, stateDir := filepath.Join(work, "ran.log"), filepath.Join(work, "state")
	apply := exec.Command(bin, "apply", "--state-dir", stateDir, "-var", "log="+logFile, rb)
	apply.Env = append(os.Environ(), runbook.CrashAfterEnv+"=1") // after step_started of step.once
	if out, err := apply.CombinedOutput(); !killed(err) {
		t.Fatalf("apply was not killed: %v\n%s", err, out)
	}
	for i := 0; i < 2; i++ {
		out, err := exec.Command(bin, "resume", "last", "--state-dir", stateDir).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "--rerun step.once") {
			t.Fatalf("resume %d did not ask for --rerun: %v\n%s", i+1, err, out)
		}
		if strings.Contains(readFile(logFile), "after") {
			t.Fatalf("resume %d ran a step after the unsettled one", i+1)
		}
	}
	out, err := exec.Command(bin, "resume", "last", "--state-dir", stateDir, "--rerun", "step.once").CombinedOutput()
	if err != nil {
		t.Fatalf("resume --rerun: %v\n%s", err, out)
	}
	if got := readFile(logFile); got != "once\nafter\n" {
		t.Fatalf("log = %q", got)
	}
}
