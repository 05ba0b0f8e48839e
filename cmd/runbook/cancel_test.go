package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestInterruptRunsFinallyAndResumes sends SIGINT to a real apply while a
// step waits: the run must end cancelled after running its finally step,
// and resume must finish it without running the finished step again.
func TestInterruptRunsFinallyAndResumes(t *testing.T) {
	bin := runbookBinary(t)
	rb, err := filepath.Abs("testdata/cancel")
	if err != nil {
		t.Fatal(err)
	}
	work := t.TempDir()
	gate, marks, stateDir := filepath.Join(work, "gate"), filepath.Join(work, "marks"), filepath.Join(work, "state")
	var stderr bytes.Buffer
	apply := exec.Command(bin, "apply", "--state-dir", stateDir, "-var", "gate="+gate, "-var", "marks="+marks, rb)
	apply.Stderr = &stderr
	if err := apply.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(readFile(marks), "first") })
	time.Sleep(100 * time.Millisecond) // let "hold" start polling
	if err := apply.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err = apply.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("apply after SIGINT: %v\n%s", err, stderr.String())
	}
	if got := readFile(marks); got != "first\ncleanup\n" {
		t.Fatalf("marks after the interrupt = %q, want first then cleanup", got)
	}
	if !strings.Contains(stderr.String(), "cancelled") {
		t.Errorf("no cancellation reported:\n%s", stderr.String())
	}
	if err := os.WriteFile(gate, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "resume", "last", "--state-dir", stateDir, rb).CombinedOutput()
	if err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if got := readFile(marks); got != "first\ncleanup\nafter\ncleanup\n" {
		t.Fatalf("marks after resume = %q", got)
	}
}

func readFile(path string) string {
	b, _ := os.ReadFile(path)
	return string(b)
}

// waitFor polls cond; the bound only stops a broken test from hanging.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for i := 0; i < 1000; i++ {
		if cond() {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("condition not met in 10 s")
}
