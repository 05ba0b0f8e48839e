package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestSmoke runs the harness as `make bench` does, at a hundredth of the
// size (100-step fan-out, 10-deep chain, 10x10 grid) and once: every
// runbook phase of every shape must succeed and be in the table and the
// JSON file.
func TestSmoke(t *testing.T) {
	rep, table := runHarness(t, "-scale", "0.01", "-repeat", "1")
	want := defaultPhases(false)
	if len(rep.Results) != len(shapeNames)*len(want) {
		t.Fatalf("%d results, want %d:\n%s", len(rep.Results), len(shapeNames)*len(want), table)
	}
	for _, r := range rep.Results {
		if r.Status != "ok" || r.Runs != 1 || r.MedianS <= 0 || r.PeakMB <= 0 || r.Tool != "runbook" {
			t.Errorf("%s %s: %+v", r.Shape, r.Phase, r)
		}
		if !slices.Contains(want, r.Phase) {
			t.Errorf("unexpected phase %s", r.Phase)
		}
	}
	for _, label := range []string{"fan-out/in 100", "chain 10", "grid 10x10"} {
		if !strings.Contains(table, label+"  ") {
			t.Errorf("the table has no %s:\n%s", label, table)
		}
	}
	if rep.Repeat != 1 || rep.Scale != 0.01 || rep.Machine.CPUs == 0 || rep.Machine.GoVersion == "" {
		t.Errorf("report header %+v", rep)
	}
}

// TestSmokePeer runs one peer, make, beside runbook's apply phases, so
// that the ratios are computed; a peer that is not on PATH is reported
// as missing, not as a failure.
func TestSmokePeer(t *testing.T) {
	rep, table := runHarness(t, "-scale", "0.01", "-repeat", "1", "-shapes", "chain",
		"-phases", "apply,apply-exec,make,tofu")
	byPhase := map[string]result{}
	for _, r := range rep.Results {
		byPhase[r.Phase] = r
	}
	if _, err := exec.LookPath("tofu"); err != nil && byPhase["tofu"].Status != "missing" {
		t.Errorf("tofu is not on PATH but reported %+v", byPhase["tofu"])
	}
	if !strings.Contains(table, "not on PATH") {
		t.Errorf("the table does not say tofu is not on PATH:\n%s", table)
	}
	if _, err := exec.LookPath("make"); err != nil {
		return
	}
	m := byPhase["make"]
	if m.Status != "ok" || m.VsApply <= 0 || m.VsApplyExec <= 0 {
		t.Errorf("make: %+v\n%s", m, table)
	}
}

// runHarness runs the harness with args, its work and JSON file in a
// temporary directory, and returns the JSON report and the table.
func runHarness(t *testing.T, args ...string) (*report, string) {
	t.Helper()
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "results.json")
	args = append(args, "-json", jsonPath, "-workdir", dir, "-timeout", "1m")
	var stdout, stderr bytes.Buffer
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if code := run(ctx, args, &stdout, &stderr); code != 0 {
		t.Fatalf("exit status %d\n%s%s", code, stdout.String(), stderr.String())
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	return &rep, stdout.String()
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags(nil, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"validate", "plan", "apply", "apply-plugin", "resume"}; !slices.Equal(cfg.phases, want) {
		t.Errorf("default phases %v, want %v", cfg.phases, want)
	}
	if cfg.repeat != 3 || cfg.timeout != 10*time.Minute || cfg.jsonPath != "bench-results.json" || !slices.Equal(cfg.shapes, shapeNames) {
		t.Errorf("defaults %+v", cfg)
	}
	cfg, err = parseFlags([]string{"-peers", "-shapes", "grid, chain"}, &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.phases, phaseNames()) || !slices.Equal(cfg.shapes, []string{"chain", "grid"}) {
		t.Errorf("-peers: phases %v, shapes %v", cfg.phases, cfg.shapes)
	}
	for _, bad := range [][]string{{"-shapes", "ring"}, {"-phases", "apply,destroy"}, {"-repeat", "0"}, {"extra"}} {
		if _, err := parseFlags(bad, &bytes.Buffer{}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestSummarise(t *testing.T) {
	s := func(sec float64, mb int64) sample {
		return sample{wall: time.Duration(sec * float64(time.Second)), maxRSS: mb << 20}
	}
	r := summarise([]sample{s(3, 10), s(1, 30), s(2, 20)}, "ok", "")
	if r.MedianS != 2 || r.PeakMB != 30 || r.Runs != 3 || !slices.Equal(r.TimesS, []float64{3, 1, 2}) {
		t.Errorf("odd: %+v", r)
	}
	if r := summarise([]sample{s(4, 1), s(1, 1)}, "ok", ""); r.MedianS != 2.5 {
		t.Errorf("even: median %g, want 2.5", r.MedianS)
	}
	if r := summarise(nil, "timeout", ""); r.MedianS != 0 || r.Runs != 0 {
		t.Errorf("none: %+v", r)
	}
}

// TestTimeout checks that a run over -timeout is cut short, with what it
// started, and reported as a timeout.
func TestTimeout(t *testing.T) {
	dir := t.TempDir()
	j := &job{argv: []string{"sh", "-c", "sleep 30 & sleep 30"}, dir: dir, log: filepath.Join(dir, "out.log")}
	start := time.Now()
	r := measure(context.Background(), config{repeat: 3, timeout: 200 * time.Millisecond}, j, func(int, sample) {})
	if r.Status != "timeout" || r.Runs != 0 {
		t.Errorf("%+v", r)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the timeout took %s", d)
	}
}
