//go:build linux

package torture

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/internal/state/local"
)

// ModeEnv selects the long version of every case: RUNBOOK_TORTURE=full.
const ModeEnv = "RUNBOOK_TORTURE"

// SeedEnv replays a seed: RUNBOOK_TORTURE_SEED=N.
const SeedEnv = "RUNBOOK_TORTURE_SEED"

var (
	full     bool
	baseSeed uint64
	// binDir holds the binaries TestMain builds: runbook and the plugins.
	// It is also the children's RUNBOOK_PLUGIN_PATH.
	binDir     string
	runbookBin string
	tortureBin string
	managerBin string
)

func TestMain(m *testing.M) {
	full = os.Getenv(ModeEnv) == "full"
	baseSeed = 1
	if full {
		baseSeed = uint64(time.Now().UnixNano())
	}
	if s := os.Getenv(SeedEnv); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s=%q is not a number\n", SeedEnv, s)
			os.Exit(2)
		}
		baseSeed = n
	}
	dir, err := os.MkdirTemp("", "runbook-torture-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	runbookBin = filepath.Join(dir, "runbook")
	tortureBin = filepath.Join(dir, "runbook-provider-torture")
	managerBin = filepath.Join(dir, "runbook-provider-manager")
	// One go build for the three: it links them in parallel, and -o DIR
	// names each binary after its package's directory.
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/runbook-dev/runbook/cmd/runbook",
		"github.com/runbook-dev/runbook/internal/torture/cmd/runbook-provider-torture",
		"github.com/runbook-dev/runbook/plugins/manager/cmd/runbook-provider-manager")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binaries:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	if left := pluginProcs(); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "torture: plugin processes still running after the tests: %v\n", left)
		code = 1
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// rngFor is the test's random source: the base seed mixed with the test's
// name, so that each test draws the same numbers whichever tests run.
func rngFor(t *testing.T) *rand.Rand {
	t.Helper()
	mode := "short"
	if full {
		mode = "full"
	}
	t.Logf("mode %s, seed %d (replay: %s=%d)", mode, baseSeed, SeedEnv, baseSeed)
	h := fnv.New64a()
	_, _ = h.Write([]byte(t.Name()))
	return rand.New(rand.NewPCG(baseSeed, h.Sum64()))
}

// pick returns short in short mode and long in full mode.
func pick(short, long int) int {
	if full {
		return long
	}
	return short
}

// childEnv is the environment of the runbook processes: ours without any
// RUNBOOK_ variable (a developer's RUNBOOK_BACKEND must not leak in), with
// the plugins on the search path, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "RUNBOOK_") {
			env = append(env, kv)
		}
	}
	return append(append(env, "RUNBOOK_PLUGIN_PATH="+binDir), extra...)
}

// outcome is how a runbook process ended.
type outcome struct {
	killed   bool // by our SIGKILL
	err      error
	out      string
	duration time.Duration
}

func (o outcome) exitCode() int {
	var ee *exec.ExitError
	if errors.As(o.err, &ee) {
		return ee.ExitCode()
	}
	if o.err != nil {
		return -1
	}
	return 0
}

// runbookCmd is `runbook ARGS...` in dir.
func runbookCmd(dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.Command(runbookBin, args...)
	cmd.Dir = dir
	cmd.Env = env
	return cmd
}

// run runs cmd; when killAfter >= 0 it is SIGKILLed that long after its
// start (if still running).
func run(t *testing.T, cmd *exec.Cmd, killAfter time.Duration) outcome {
	t.Helper()
	wait := start(t, cmd)
	if killAfter >= 0 {
		timer := time.AfterFunc(killAfter, func() { _ = cmd.Process.Kill() })
		defer timer.Stop()
	}
	return wait()
}

// start starts cmd and returns what waits for its end. The bound only
// stops a hung process from hanging the test.
func start(t *testing.T, cmd *exec.Cmd) (wait func() outcome) {
	t.Helper()
	var buf syncBuffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	// A grandchild that inherited the output pipe (it should not) must
	// not keep Wait from returning.
	cmd.WaitDelay = 5 * time.Second
	began := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	hang := time.AfterFunc(2*time.Minute, func() { _ = cmd.Process.Kill() })
	return func() outcome {
		t.Helper()
		err := cmd.Wait()
		hung := !hang.Stop()
		o := outcome{err: err, out: buf.String(), duration: time.Since(began)}
		if hung {
			t.Fatalf("%s did not end within 2 minutes:\n%s", strings.Join(cmd.Args, " "), o.out)
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			ws, ok := ee.Sys().(syscall.WaitStatus)
			o.killed = ok && ws.Signaled() && ws.Signal() == syscall.SIGKILL
		}
		return o
	}
}

// syncBuffer collects a process's stdout and stderr, which exec copies
// from two goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// copyDir copies a runbook directory (its regular files, recursively), so
// that `runbook init` writes its lock file into the copy and never into
// the repository.
func copyDir(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			if d.Name() == ".runbook" {
				return filepath.SkipDir
			}
			return os.MkdirAll(target, 0o755)
		}
		if !d.Type().IsRegular() || strings.HasSuffix(d.Name(), ".lock.hcl") {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// initRunbook copies the runbook in src to a new directory and locks its
// plugins there (`runbook init`).
func initRunbook(t *testing.T, src string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), filepath.Base(src))
	copyDir(t, src, dir)
	if o := run(t, runbookCmd(dir, childEnv(), "init"), -1); o.err != nil {
		t.Fatalf("runbook init: %v\n%s", o.err, o.out)
	}
	return dir
}

// pluginProcs lists the live processes running one of our plugin
// binaries. A zombie has no exe link, so it does not count: it is dead.
func pluginProcs() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		exe, err := os.Readlink(filepath.Join("/proc", e.Name(), "exe"))
		if err == nil && strings.HasPrefix(exe, filepath.Join(binDir, "runbook-provider-")) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// waitNoPlugins waits up to timeout for every plugin process to be gone
// and returns those still running then.
func waitNoPlugins(timeout time.Duration) []int {
	deadline := time.Now().Add(timeout)
	for {
		left := pluginProcs()
		if len(left) == 0 || time.Now().After(deadline) {
			return left
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// killPlugins ends plugin processes a failed check found, so that one
// failure does not cascade into the next checks.
func killPlugins(pids []int) {
	for _, pid := range pids {
		_ = syscall.Kill(pid, syscall.SIGKILL)
	}
}

// childrenOf lists a process's children, from every thread's children
// file (a child belongs to the thread that forked it).
func childrenOf(pid int) []int {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/children", pid))
	var out []int
	for _, f := range tasks {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		for _, s := range strings.Fields(string(b)) {
			if n, err := strconv.Atoi(s); err == nil {
				out = append(out, n)
			}
		}
	}
	return out
}

func exeOf(pid int) string {
	exe, _ := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	return exe
}

// sim is the manager simulator on loopback, driven over HTTP.
type sim struct {
	url string
}

// startSim starts the simulator and stops it when the test ends.
func startSim(t *testing.T) *sim {
	t.Helper()
	cmd := exec.Command(runbookBin, "sim", "manager", "--listen", "127.0.0.1:0")
	cmd.Env = childEnv()
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "http://127.0.0.1:") {
		t.Fatalf("runbook sim manager said %q (%v): %s", line, err, stderr.String())
	}
	go func() { _, _ = io.Copy(io.Discard, stdout) }()
	return &sim{url: strings.TrimSpace(line)}
}

// startSimIn serves the simulator from the test process instead, for the
// timings only its Go options set.
func startSimIn(t *testing.T, opts simmanager.Options) *sim {
	t.Helper()
	srv := simmanager.New(opts)
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	return &sim{url: url}
}

func (s *sim) setFaults(t *testing.T, f simmanager.Faults) {
	t.Helper()
	b, _ := json.Marshal(f)
	resp, err := http.Post(s.url+"/_sim/faults", "application/json", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST /_sim/faults: %s %s", resp.Status, body)
	}
}

func (s *sim) requests(t *testing.T) []simmanager.RequestRecord {
	t.Helper()
	resp, err := http.Get(s.url + "/_sim/requests")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var out []simmanager.RequestRecord
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// journal is what the state directory says about one run.
type journal struct {
	recs []state.Record
}

func readJournal(t *testing.T, stateDir, runID string) journal {
	t.Helper()
	b, err := local.New(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := b.Read(context.Background(), runID)
	if err != nil {
		t.Fatalf("reading the journal of %s: %v", runID, err)
	}
	return journal{recs: recs}
}

// runIDs lists the runs of a state directory, newest first, failing on a
// journal the backend cannot read.
func runIDs(t *testing.T, stateDir string) []string {
	t.Helper()
	b, err := local.New(stateDir)
	if err != nil {
		t.Fatal(err)
	}
	runs, err := b.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range runs {
		if r.Status == "corrupt" || r.Status == "unreadable" {
			t.Errorf("run %s is listed as %s", r.ID, r.Status)
		}
		ids = append(ids, r.ID)
	}
	return ids
}

// status is the run's status: that of its last RunEnded unless a resume
// followed, else "".
func (j journal) status() string {
	s := ""
	for _, r := range j.recs {
		switch r.Type {
		case state.RunEnded:
			s = r.Status
		case state.RunResumed:
			s = ""
		}
	}
	return s
}

// succeeded is the set of units (steps and items) journaled as succeeded.
func (j journal) succeeded() map[string]bool {
	out := map[string]bool{}
	for _, r := range j.recs {
		if r.Type == state.StepSucceeded {
			out[r.Step] = true
		}
	}
	return out
}

// count counts records of a type for a unit ("" for any unit).
func (j journal) count(typ state.RecordType, step string) int {
	n := 0
	for _, r := range j.recs {
		if r.Type == typ && (step == "" || r.Step == step) {
			n++
		}
	}
	return n
}

// output reads a plain (not sealed) output of a unit's last success.
func (j journal) output(step, name string) (json.RawMessage, bool) {
	var found json.RawMessage
	for _, r := range j.recs {
		if r.Type != state.StepSucceeded || r.Step != step {
			continue
		}
		var vals map[string]struct {
			Value json.RawMessage `json:"value"`
		}
		if json.Unmarshal(r.Values, &vals) == nil {
			found = vals[name].Value
		}
	}
	return found, found != nil
}

// ledger counts the lines "ADDRESS RUN_ID ..." of one run.
func ledger(t *testing.T, path, runID string) map[string]int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[1] == runID {
			out[f[0]]++
		}
	}
	return out
}

// runsShow runs `runbook runs show ID` and fails the test unless it reads
// the journal.
func runsShow(t *testing.T, dir, stateDir, runID string) string {
	t.Helper()
	o := run(t, runbookCmd(dir, childEnv(), "runs", "show", runID, "--state-dir", stateDir), -1)
	if o.err != nil || strings.Contains(strings.ToLower(o.out), "corrupt") {
		t.Errorf("runbook runs show %s: %v\n%s", runID, o.err, o.out)
	}
	return o.out
}
