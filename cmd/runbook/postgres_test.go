package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/internal/state/postgres"
	"github.com/runbook-dev/runbook/internal/testpg"
	"github.com/runbook-dev/runbook/runbook"
)

// TestScriptsPostgres runs the scripts of testdata/script_pg, each with
// RUNBOOK_BACKEND_CONN_STR set to a fresh database.
func TestScriptsPostgres(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                "testdata/script_pg",
		UpdateScripts:      *update,
		RequireUniqueNames: true,
		Cmds:               scriptCmds(),
		Setup: func(env *testscript.Env) error {
			tb, ok := env.T().(testing.TB)
			if !ok {
				return errors.New("testscript's T is not a testing.TB")
			}
			env.Setenv(envConnStr, testpg.Start(tb))
			return nil
		},
	})
}

// holdRunbook marks that it started, waits for the gate file, then hands
// its sensitive token to a command that writes it out: the last step can
// only succeed with the run's own value, decrypted on resume.
const holdRunbook = `
runbook "hold" {
  version = "1.0.0"
  backend "KIND" {}
}

variable "marks" { type = string }
variable "gate" { type = string }
variable "out" { type = string }
variable "token" {
  type      = string
  sensitive = true
}

step "first" {
  action  = core.exec
  command = ["echo first >> \"$0\"", var.marks]
  shell   = true
}

step "hold" {
  action     = core.wait
  command    = ["test", "-e", var.gate]
  interval   = "20ms"
  depends_on = [step.first]
}

step "last" {
  action     = core.exec
  command    = ["echo last >> \"$0\"; printf %s \"$TOKEN\" > \"$1\"", var.marks, var.out]
  shell      = true
  env        = { TOKEN = var.token }
  depends_on = [step.hold]
}
`

const token = "tok-7f3a91"

// pgRun is one use of the real binary on one state: a database, or the
// local .runbook when conn is "".
type pgRun struct {
	t    *testing.T
	bin  string
	conn string // the database, in RUNBOOK_BACKEND_CONN_STR
	dir  string // the runbook directory
	work string // marks, gates and outputs
}

func newPGRun(t *testing.T, conn string) *pgRun {
	bin := runbookBinary(t)
	p := &pgRun{t: t, bin: bin, conn: conn, dir: filepath.Join(t.TempDir(), "rb"), work: t.TempDir()}
	p.writeRunbook(p.dir)
	return p
}

func (p *pgRun) kind() string {
	if p.conn == "" {
		return dsl.BackendLocal
	}
	return dsl.BackendPostgres
}

func (p *pgRun) writeRunbook(dir string) {
	p.t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		p.t.Fatal(err)
	}
	src := strings.Replace(holdRunbook, "KIND", p.kind(), 1)
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		p.t.Fatal(err)
	}
}

func (p *pgRun) path(name string) string { return filepath.Join(p.work, name) }

// cmd runs in the runbook's directory, so that the commands without a
// runbook argument find the backend through its block.
func (p *pgRun) cmd(env []string, args ...string) *exec.Cmd {
	c := exec.Command(p.bin, args...)
	c.Dir = p.dir
	c.Env = append(os.Environ(), envConnStr+"="+p.conn, envBackend+"=", runbook.KeyEnv+"=", envWorkspace+"=", envSchema+"=")
	c.Env = append(c.Env, env...)
	return c
}

// apply starts an apply of the runbook with its own marks, gate and out
// files (named after tag), its stderr kept in a buffer.
func (p *pgRun) apply(tag string, extra ...string) (*exec.Cmd, *syncBuffer) {
	args := append([]string{"apply", "-v",
		"-var", "marks=" + p.path(tag+".marks"), "-var", "gate=" + p.path("gate"), "-var", "out=" + p.path(tag+".out")}, extra...)
	c := p.cmd([]string{"RUNBOOK_VAR_token=" + token}, args...)
	stderr := &syncBuffer{}
	c.Stderr, c.Stdout = stderr, stderr
	if err := c.Start(); err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	return c, stderr
}

// run runs a command to its end and returns its output and exit status.
func (p *pgRun) run(env []string, args ...string) (string, int) {
	p.t.Helper()
	out, err := p.cmd(env, args...).CombinedOutput()
	code := exitStatus(err)
	if code < 0 {
		p.t.Fatalf("runbook %s: %v", strings.Join(args, " "), err)
	}
	return string(out), code
}

func (p *pgRun) mustRun(env []string, args ...string) string {
	p.t.Helper()
	out, code := p.run(env, args...)
	if code != 0 {
		p.t.Fatalf("runbook %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	return out
}

// backend reads the state behind the binary's back.
func (p *pgRun) backend() state.Backend {
	sc := localState(filepath.Join(p.dir, ".runbook"))
	if p.conn != "" {
		sc = &stateConfig{kind: dsl.BackendPostgres, pg: postgres.Config{ConnString: p.conn}}
	}
	b, err := sc.open(context.Background())
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { _ = b.Close() })
	return b
}

// waitRecord waits until the run's journal holds a record of type typ
// for step: what the binary did is committed, not merely done.
func (p *pgRun) waitRecord(b state.Backend, typ state.RecordType, step string) string {
	p.t.Helper()
	var id string
	waitFor(p.t, func() bool {
		runs, err := b.List(context.Background())
		if err != nil || len(runs) == 0 {
			return false
		}
		id = runs[0].ID
		recs, err := b.Read(context.Background(), id)
		return err == nil && hasRecord(recs, typ, step)
	})
	return id
}

func hasRecord(recs []state.Record, typ state.RecordType, step string) bool {
	for _, r := range recs {
		if r.Type == typ && r.Step == step {
			return true
		}
	}
	return false
}

func (p *pgRun) openGate() {
	if err := os.WriteFile(p.path("gate"), nil, 0o600); err != nil {
		p.t.Fatal(err)
	}
}

var lockIDLine = regexp.MustCompile(`\(lock ID ([0-9a-f-]{36})\)`)

// waitLockID reads the holder's lock ID from its verbose output.
func waitLockID(t *testing.T, out *syncBuffer) string {
	t.Helper()
	var id string
	waitFor(t, func() bool {
		m := lockIDLine.FindStringSubmatch(out.String())
		if m != nil {
			id = m[1]
		}
		return m != nil
	})
	return id
}

// otherLockID differs from id in its first digit.
func otherLockID(id string) string {
	if id[0] == '0' {
		return "1" + id[1:]
	}
	return "0" + id[1:]
}

// TestConcurrentAppliesOneRuns: while one apply holds the state, another
// fails at once naming the holder; with -lock-timeout it waits for the
// holder to finish, then runs. For both backends: the waiting is the
// command line's.
func TestConcurrentAppliesOneRuns(t *testing.T) {
	t.Run("local", func(t *testing.T) {
		p := newPGRun(t, "")
		concurrentApplies(t, p, `state dir .runbook is in use by run `)
	})
	t.Run("postgres", func(t *testing.T) {
		p := newPGRun(t, testpg.Start(t))
		concurrentApplies(t, p, `state backend postgres: workspace "default" in schema runbook is in use by run `)
	})
}

func concurrentApplies(t *testing.T, p *pgRun, inUse string) {
	b := p.backend()
	holder, holderOut := p.apply("a")
	runID := p.waitRecord(b, state.StepStarted, "step.hold")
	host, _ := os.Hostname()
	wants := []string{inUse + runID, "host " + host, fmt.Sprintf("pid %d", holder.Process.Pid), "-lock-timeout"}
	if p.conn != "" {
		lockID := waitLockID(t, holderOut)
		wants = append(wants, "lock ID "+lockID, "runbook force-unlock "+lockID)
	}

	out, code := p.run([]string{"RUNBOOK_VAR_token=x"}, "apply",
		"-var", "marks="+p.path("b.marks"), "-var", "gate="+p.path("gate"), "-var", "out="+p.path("b.out"))
	if code != 1 {
		t.Fatalf("second apply: exit %d, want 1\n%s", code, out)
	}
	for _, want := range wants {
		if !strings.Contains(out, want) {
			t.Errorf("the refusal does not say %q:\n%s", want, out)
		}
	}
	if !regexp.MustCompile(`started \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ`).MatchString(out) {
		t.Errorf("the refusal does not give the start time:\n%s", out)
	}
	if _, err := os.Stat(p.path("b.marks")); err == nil || strings.Contains(out, "Warning:") {
		t.Errorf("the refused apply ran a step or warned about the run it did not start:\n%s", out)
	}
	if list := p.mustRun(nil, "runs", "list"); !regexp.MustCompile(runID + ` +hold .* running\n`).MatchString(list) {
		t.Errorf("runs list does not show the holder running:\n%s", list)
	}

	waiter, waiterOut := p.apply("c", "-lock-timeout", "10m")
	waitFor(t, func() bool { return strings.Contains(waiterOut.String(), "Waiting up to 10m0s for the state lock: ") })
	if !strings.Contains(waiterOut.String(), "in use by run "+runID) {
		t.Errorf("the waiting apply does not name the holder:\n%s", waiterOut)
	}
	p.openGate()
	if err := holder.Wait(); err != nil {
		t.Fatalf("holder: %v\n%s", err, holderOut)
	}
	if err := waiter.Wait(); err != nil {
		t.Fatalf("waiting apply: %v\n%s", err, waiterOut)
	}
	for _, tag := range []string{"a", "c"} {
		if got := readFile(p.path(tag + ".marks")); got != "first\nlast\n" {
			t.Errorf("%s.marks = %q", tag, got)
		}
	}
	checkSerial(t, b)
}

// checkSerial makes sure the state's two runs did not overlap.
func checkSerial(t *testing.T, b state.Backend) {
	t.Helper()
	runs, err := b.List(context.Background())
	if err != nil || len(runs) != 2 {
		t.Fatalf("runs: %v, %v", runs, err)
	}
	newer, older := runs[0], runs[1]
	if newer.Status != "finished" || older.Status != "finished" || newer.Started.Before(older.Ended) {
		t.Errorf("runs overlap or did not finish: %+v then %+v", older, newer)
	}
}

// TestForceUnlockStopsTheHolder: a holder waits on its gate; another
// process force-unlocks its lock; once the gate opens, the holder's next
// journal write fails and it stops; a resume from elsewhere (RUN_ID only,
// the backend from RUNBOOK_BACKEND) finishes the run.
func TestForceUnlockStopsTheHolder(t *testing.T) {
	p := newPGRun(t, testpg.Start(t))
	b := p.backend()
	holder, holderOut := p.apply("a")
	runID := p.waitRecord(b, state.StepStarted, "step.hold")
	lockID := waitLockID(t, holderOut)

	out, code := p.run(nil, "force-unlock", lockID)
	if code != 1 || !strings.Contains(out, "force-unlock asks for confirmation and there is no terminal to ask on; pass -force") {
		t.Fatalf("force-unlock without a terminal: exit %d\n%s", code, out)
	}
	out, code = p.run(nil, "force-unlock", "-force", otherLockID(lockID))
	if code != 1 || !strings.Contains(out, "does not match the current lock "+lockID) {
		t.Fatalf("force-unlock of another lock ID: exit %d\n%s", code, out)
	}
	out = p.mustRun(nil, "force-unlock", "-force", lockID)
	if want := fmt.Sprintf("Lock %s of postgres workspace \"default\" in schema runbook on ", lockID); !strings.Contains(out, want) {
		t.Errorf("force-unlock says:\n%s", out)
	}

	p.openGate()
	err := holder.Wait()
	if exitStatus(err) != 1 {
		t.Fatalf("the unlocked holder: %v, want exit status 1\n%s", err, holderOut)
	}
	for _, want := range []string{"state backend postgres: lost the connection holding the workspace lock", "resume it to go on"} {
		if !strings.Contains(holderOut.String(), want) {
			t.Errorf("the unlocked holder does not say %q:\n%s", want, holderOut)
		}
	}
	if strings.Contains(readFile(p.path("a.marks")), "last") {
		t.Fatal("the unlocked holder went on running steps")
	}

	resume := exec.Command(p.bin, "resume", runID)
	resume.Dir = t.TempDir() // no runbook here: RUNBOOK_BACKEND finds the run
	resume.Env = append(p.cmd(nil).Env, envBackend+"=postgres")
	if out, err := resume.CombinedOutput(); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	if got := readFile(p.path("a.marks")); got != "first\nlast\n" {
		t.Errorf("marks = %q, want first once, then last", got)
	}
	if got := readFile(p.path("a.out")); got != token {
		t.Errorf("the resumed run's token = %q", got)
	}
}

// TestPostgresStopsMidApply stops PostgreSQL while a run waits in its
// second step. The run stops with an error naming the state backend,
// keeps what had succeeded, and after a restart is resumed "on another
// machine": from a copy of the runbook at another path, with the journal
// key given in RUNBOOK_JOURNAL_KEY, without running its first step again.
func TestPostgresStopsMidApply(t *testing.T) {
	cluster := testpg.NewCluster(t)
	p := newPGRun(t, testpg.CreateDB(t, cluster.ConnString("postgres")))
	b := p.backend()
	apply, applyOut := p.apply("a")
	runID := p.waitRecord(b, state.StepSucceeded, "step.first")
	p.waitRecord(b, state.StepStarted, "step.hold")
	if err := cluster.Stop(); err != nil {
		t.Fatal(err)
	}
	p.openGate()
	if err := apply.Wait(); exitStatus(err) != 1 {
		t.Fatalf("apply with PostgreSQL gone: %v, want exit status 1\n%s", err, applyOut)
	}
	if !strings.Contains(applyOut.String(), "Error: journal: state backend postgres: lost the connection") {
		t.Errorf("the error does not name the state backend:\n%s", applyOut)
	}
	if err := cluster.Start(); err != nil {
		t.Fatal(err)
	}
	show := p.mustRun(nil, "runs", "show", runID)
	if !regexp.MustCompile(`(?m)^step\.first +succeeded +1 `).MatchString(show) || !strings.Contains(show, "Status: interrupted") {
		t.Errorf("runs show after the restart:\n%s", show)
	}
	resumeElsewhere(t, p, runID)
}

// resumeElsewhere resumes runID from a copy of the runbook (no .runbook,
// so no key file) at another path, as another machine would.
func resumeElsewhere(t *testing.T, p *pgRun, runID string) {
	key, err := os.ReadFile(filepath.Join(p.dir, ".runbook", "journal.key"))
	if err != nil {
		t.Fatalf("the journal key beside the runbook: %v", err)
	}
	other := *p
	other.dir = filepath.Join(t.TempDir(), "elsewhere", "rb")
	other.writeRunbook(other.dir)

	out, code := other.run(nil, "resume", runID, other.dir)
	if code != 1 || !strings.Contains(out, "cannot decrypt a sensitive value") || !strings.Contains(out, "there was no journal key here") {
		t.Fatalf("resume without the journal key: exit %d\n%s", code, out)
	}
	out = other.mustRun([]string{runbook.KeyEnv + "=" + strings.TrimSpace(string(key))}, "resume", runID, other.dir)
	if !strings.Contains(out, "Run "+runID+" finished.") {
		t.Errorf("resume elsewhere:\n%s", out)
	}
	if strings.Contains(out, "Warning: sensitive values") {
		t.Errorf("warned about a key file with RUNBOOK_JOURNAL_KEY set:\n%s", out)
	}
	if got := readFile(p.path("a.marks")); got != "first\nlast\n" {
		t.Errorf("marks = %q, want first once, then last", got)
	}
	if got := readFile(p.path("a.out")); got != token {
		t.Errorf("the resumed run's token = %q, want the run's own", got)
	}
	noSecretIn(t, p, runID)
}

// noSecretIn reads the run's rows: the token is sealed, never in clear.
func noSecretIn(t *testing.T, p *pgRun, runID string) {
	recs, err := p.backend().Read(context.Background(), runID)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(recs)
	if bytes.Contains(data, []byte(token)) {
		t.Error("the token is in the journal in clear")
	}
}

// TestForceUnlockAsks: on a terminal, force-unlock names the holder and
// frees the lock only if the operator says yes.
func TestForceUnlockAsks(t *testing.T) {
	conn := testpg.Start(t)
	t.Chdir(t.TempDir())
	t.Setenv(envBackend, "postgres")
	t.Setenv(envConnStr, conn)
	b, err := postgres.New(t.Context(), postgres.Config{ConnString: conn})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = b.Close() }()
	j, err := b.Create(t.Context(), &state.RunInfo{ID: "01M8665QPBVRG43WH5ADP7HVN3"})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = j.Close() }()
	lockID := j.(*postgres.Journal).LockID()

	for _, answer := range []string{"\n", "n\n", "yes\n"} {
		var out, prompt bytes.Buffer
		o := &unlockOptions{in: strings.NewReader(answer), tty: true}
		err := o.run(&streams{out: &out, err: &prompt}, lockID)
		if !strings.Contains(prompt.String(), "is held by run 01M8665QPBVRG43WH5ADP7HVN3 (host ") ||
			!strings.HasSuffix(prompt.String(), "? [y/N] ") {
			t.Errorf("answer %q: prompt %q", answer, prompt.String())
		}
		h, herr := b.Holder(t.Context())
		switch unlocked := herr == nil && h == nil; {
		case answer == "yes\n" && (err != nil || !unlocked || !strings.Contains(out.String(), "is free")):
			t.Errorf("answer yes: %v, holder %+v, output %q", err, h, out.String())
		case answer != "yes\n" && (err == nil || unlocked || !strings.Contains(err.Error(), "the lock is still held")):
			t.Errorf("answer %q: %v, holder %+v", answer, err, h)
		}
	}
}

// syncBuffer is a bytes.Buffer a process writes while the test reads.
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
