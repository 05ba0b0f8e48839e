package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/runbook-dev/runbook/internal/testgen"
)

// phase is one thing measured for each shape. setup writes its files into
// the cell's directory and runs what must come first (init, the run to
// resume), untimed.
type phase struct {
	name  string
	tool  string // the program on PATH it needs; "" for runbook
	note  string // what the table says about it
	setup func(ctx context.Context, b *bench, c cell) (*job, error)
}

// parallelism is runbook's default, and what the peers that take a limit
// get too: Terraform's -parallelism, make's -j.
const parallelism = 10

var runbookPhases = []phase{
	{name: "validate", setup: setupValidate},
	{name: "plan", setup: setupPlan},
	{name: "apply", note: "core.sleep 0s steps", setup: setupApply(testgen.Sleep0)},
	{name: "apply-exec", note: "core.exec `true` steps", setup: setupApply(testgen.ExecTrue)},
	{name: "apply-plugin", note: "test.noop steps, one plugin process", setup: setupApplyPlugin},
	{name: "resume", note: "1 step left to run", setup: setupResume},
}

// phaseNames lists every phase in table order: runbook's, then the peers.
func phaseNames() []string {
	var out []string
	for _, p := range allPhases() {
		out = append(out, p.name)
	}
	return out
}

func allPhases() []phase { return append(append([]phase{}, runbookPhases...), peerPhases...) }

// defaultPhases leaves apply-exec to -peers: it is there to compare with
// the peers' shell steps.
func defaultPhases(peers bool) []string {
	var out []string
	for _, p := range allPhases() {
		isRunbook := p.tool == ""
		if peers || (isRunbook && p.name != "apply-exec") {
			out = append(out, p.name)
		}
	}
	return out
}

// cell is one phase of one shape: its directory and program.
type cell struct {
	sc   shapeCase
	dir  string
	tool string // the phase's program, found on PATH; "" for runbook
}

// runbookDir writes the shape's runbook with opts into dir/rb.
func runbookDir(c cell, opts testgen.Options) (string, error) {
	rb := filepath.Join(c.dir, "rb")
	if err := os.MkdirAll(rb, 0o755); err != nil {
		return "", err
	}
	return rb, testgen.WriteShapeRunbook(rb, c.sc.shape, c.sc.n, opts)
}

func setupValidate(_ context.Context, b *bench, c cell) (*job, error) {
	rb, err := runbookDir(c, testgen.Options{})
	return b.runbookJob(c.dir, "validate", rb), err
}

func setupPlan(_ context.Context, b *bench, c cell) (*job, error) {
	rb, err := runbookDir(c, testgen.Options{})
	return b.runbookJob(c.dir, "plan", rb), err
}

// setupApply applies into the default state directory (.runbook beside
// the runbook, the local backend), emptied before each repetition.
func setupApply(action testgen.Action) func(context.Context, *bench, cell) (*job, error) {
	return func(_ context.Context, b *bench, c cell) (*job, error) {
		rb, err := runbookDir(c, testgen.Options{Action: action})
		return b.applyJob(c.dir, rb), err
	}
}

// setupApplyPlugin installs the test plugin on RUNBOOK_PLUGIN_PATH and
// locks it with `runbook init`, as a user would before applying.
func setupApplyPlugin(ctx context.Context, b *bench, c cell) (*job, error) {
	rb, err := runbookDir(c, testgen.Options{Action: testgen.PluginNoop})
	if err != nil {
		return nil, err
	}
	env := "RUNBOOK_PLUGIN_PATH=" + b.pluginDir
	init := b.runbookJob(c.dir, "init", rb)
	init.env = append(init.env, env)
	if err := b.mustSucceed(ctx, init); err != nil {
		return nil, err
	}
	j := b.applyJob(c.dir, rb)
	j.env = append(j.env, env)
	return j, nil
}

// setupResume makes a run that fails at its last step (a gate file is
// missing), keeps its state, and creates the gate: each repetition
// resumes a fresh copy of that state, so it restores n-1 succeeded steps
// and runs one. The copy is synced, so the resume does not pay for it.
func setupResume(ctx context.Context, b *bench, c cell) (*job, error) {
	gate := filepath.Join(c.dir, "gate")
	rb, err := runbookDir(c, testgen.Options{Gate: gate})
	if err != nil {
		return nil, err
	}
	runID, err := b.failedRun(ctx, c.dir, rb)
	if err != nil {
		return nil, err
	}
	state, failed := filepath.Join(rb, ".runbook"), filepath.Join(c.dir, "failed-state")
	if err := os.Rename(state, failed); err != nil {
		return nil, err
	}
	if err := os.WriteFile(gate, nil, 0o644); err != nil {
		return nil, err
	}
	j := b.runbookJob(c.dir, "resume", runID, "-auto-approve", "-parallelism", strconv.Itoa(parallelism), rb)
	j.reset = func() error {
		if err := os.RemoveAll(state); err != nil {
			return err
		}
		return testgen.CopyDir(failed, state)
	}
	return j, nil
}

// failedRun applies the gated runbook, expects it to fail, and returns
// the run's ID from the last --json event.
func (b *bench) failedRun(ctx context.Context, dir, rb string) (string, error) {
	j := b.runbookJob(dir, "apply", "-json", "-auto-approve", "-parallelism", strconv.Itoa(parallelism), rb)
	code, err := runUntimed(ctx, j, b.cfg.timeout)
	if err != nil {
		return "", err
	}
	if code != 1 {
		return "", fmt.Errorf("the gated apply exited %d, want 1 (a failed run)%s", code, logTail(j.log))
	}
	line, err := lastLine(j.log)
	if err != nil {
		return "", err
	}
	var ev struct {
		Type      string `json:"type"`
		RunID     string `json:"run_id"`
		RunStatus string `json:"run_status"`
	}
	if err := json.Unmarshal(line, &ev); err != nil || ev.Type != "run_ended" || ev.RunStatus != "failed" {
		return "", fmt.Errorf("the gated apply did not end with a failed run: %s", line)
	}
	return ev.RunID, nil
}

// runbookJob runs the runbook binary with args, its output to dir/out.log.
func (b *bench) runbookJob(dir string, args ...string) *job {
	return &job{argv: append([]string{b.runbook}, args...), dir: dir, log: filepath.Join(dir, "out.log")}
}

// applyJob is `runbook apply -auto-approve -parallelism 10 RB` with the
// state directory emptied before each repetition.
func (b *bench) applyJob(dir, rb string) *job {
	j := b.runbookJob(dir, "apply", "-auto-approve", "-parallelism", strconv.Itoa(parallelism), rb)
	j.reset = func() error { return os.RemoveAll(filepath.Join(rb, ".runbook")) }
	return j
}

// mustSucceed runs a setup command that must exit 0.
func (b *bench) mustSucceed(ctx context.Context, j *job) error {
	code, err := runUntimed(ctx, j, b.cfg.timeout)
	if err == nil && code != 0 {
		err = fmt.Errorf("%s exited %d%s", strings.Join(j.argv, " "), code, logTail(j.log))
	}
	return err
}
