package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/runbook-dev/runbook/internal/testgen"
)

// BenchmarkPlanProcess10k measures `runbook plan` of a generated
// 10,000-step runbook as a whole process, as a user runs it, and reports
// its peak resident memory. Targets: under 1 s and 300 MB.
func BenchmarkPlanProcess10k(b *testing.B) {
	bin := buildBinary(b)
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

func buildBinary(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "runbook")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Stderr = os.Stderr
	if err := cmd.Run(); err != nil {
		b.Fatalf("go build: %v", err)
	}
	return bin
}
