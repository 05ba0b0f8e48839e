//go:build linux

package torture

import (
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
)

// killUnits are the units of testdata/kill that leave a ledger line each
// time they run, not counting finally steps; true marks those whose
// provider has an exact Check (torture.record_once), which must run
// exactly once however the host dies.
var killUnits = map[string]bool{
	"step.prepare": false, "step.plug": false, "step.join": false,
	`step.fan["a"]`: true, `step.fan["b"]`: true, `step.fan["c"]`: true, `step.fan["d"]`: true,
}

// killFinally run at the end of every execution of the run, resumed ones
// included, so they may run any number of times; at least once.
var killFinally = []string{"step.cleanup", "step.unplug"}

// rerunAsked finds the units a resume refused to settle on its own ("...
// resume with --rerun ADDR to run it again").
var rerunAsked = regexp.MustCompile(`--rerun (\S+) to run it again`)

type killStats struct {
	iterations   int
	applies      int // apply processes started
	applyKills   int // ... that our SIGKILL ended
	beforeRun    int // ... killed before their run's journal existed
	resumes      int // resume processes started
	resumeKills  int // ... that our SIGKILL ended
	rerunsAsked  int // resumes that stopped to ask for --rerun (the operator then gave it)
	reexecutions int // extra ledger lines: units run again after being caught mid-flight
	orphans      int // plugin processes found alive after their runbook was killed
}

type killTorture struct {
	t        *testing.T
	sim      *sim
	dir      string // the runbook, initialised
	stateDir string // shared by every run, so `resume last` and `runs list` see them all
	work     string
	seed     uint64
	window   time.Duration // kills of applies land uniformly in [0, window), of resumes in [0, window/2)
	stats    killStats
}

// TestKillTorture: apply, SIGKILL at a random moment, resume (SIGKILLed
// again at random) until the run finishes; then check what ran.
func TestKillTorture(t *testing.T) {
	seedRng := rngFor(t)
	start := time.Now()
	// In-process, for its timing: a snapshot takes 150ms to create, longer
	// than a resume takes to start, so a resume can find the snapshot of
	// a killed step.create still being created. Its Check then cannot
	// tell, and the resume stops to ask the operator for --rerun.
	s := startSimIn(t, simmanager.Options{Timing: simmanager.Timing{Snapshot: 150 * time.Millisecond}})
	// A little latency on every API call keeps the manager steps in
	// flight long enough for kills to land inside them.
	s.setFaults(t, simmanager.Faults{Rules: []simmanager.FaultRule{{PathPrefix: "/api/v3.1/", Latency: "2ms"}}})
	k := &killTorture{t: t, sim: s, dir: initRunbook(t, "testdata/kill"), work: t.TempDir(), seed: seedRng.Uint64()}
	k.stateDir = filepath.Join(k.work, "state")

	// Calibration: a run nobody kills, whose duration is the window kills
	// are drawn from (the process's whole life, start-up included).
	o := run(t, k.applyCmd(0), -1)
	if o.err != nil {
		t.Fatalf("calibration apply: %v\n%s", o.err, o.out)
	}
	k.window = o.duration
	k.finished(0, runIDs(t, k.stateDir)[0])
	t.Logf("calibration: an unkilled apply takes %s", k.window.Round(time.Millisecond))

	iterations := pick(8, 100)
	for i := 1; i <= iterations; i++ {
		k.iteration(i)
		if t.Failed() {
			break
		}
	}
	ids := runIDs(t, k.stateDir)
	if len(ids) != k.stats.iterations+1 {
		t.Errorf("%d runs in the state dir, want %d", len(ids), k.stats.iterations+1)
	}
	for _, id := range ids {
		if out := runsShow(t, k.dir, k.stateDir, id); !strings.Contains(out, "Status: finished") {
			t.Errorf("runs show %s:\n%s", id, out)
		}
	}
	st := k.stats
	t.Logf("%d iterations in %s: %d applies (%d SIGKILLed, %d of them before their run existed), "+
		"%d resumes (%d SIGKILLed, %d stopped to ask for --rerun), %d units run again after a kill caught them mid-flight, "+
		"%d orphaned plugin processes; %d journals read back by runs show",
		st.iterations, time.Since(start).Round(time.Millisecond), st.applies, st.applyKills, st.beforeRun,
		st.resumes, st.resumeKills, st.rerunsAsked, st.reexecutions, st.orphans, len(ids))
}

func (k *killTorture) ledgerPath(i int) string {
	return filepath.Join(k.work, fmt.Sprintf("ledger-%d", i))
}

func (k *killTorture) backupDir(i int) string {
	return filepath.Join(k.work, fmt.Sprintf("backups-%d", i))
}

func (k *killTorture) applyCmd(i int) *exec.Cmd {
	return runbookCmd(k.dir, childEnv(), "apply", "--auto-approve", "--state-dir", k.stateDir,
		"-var", "ledger="+k.ledgerPath(i), "-var", "endpoint="+k.sim.url, "-var", "backup_dir="+k.backupDir(i))
}

// iteration runs one run to its end through kills and resumes. Each
// iteration draws from its own generator, so that its kill times do not
// depend on how the iterations before it went.
func (k *killTorture) iteration(i int) {
	t := k.t
	rng := rand.New(rand.NewPCG(k.seed, uint64(i)))
	draw := func() time.Duration { return time.Duration(rng.Int64N(int64(k.window))) }
	known := runIDs(t, k.stateDir)
	runID := ""
	for tries := 0; runID == ""; tries++ {
		if tries == 20 {
			t.Fatalf("iteration %d: 20 applies and no run", i)
		}
		o := run(t, k.applyCmd(i), draw())
		k.stats.applies++
		switch {
		case o.killed:
			k.stats.applyKills++
		case o.err != nil:
			t.Fatalf("iteration %d: apply failed: %v\n%s", i, o.err, o.out)
		}
		for _, id := range runIDs(t, k.stateDir) {
			if !slices.Contains(known, id) {
				runID = id
			}
		}
		if runID == "" {
			k.stats.beforeRun++
			k.noOrphans(i, "an apply killed before its run began")
		}
	}
	k.stats.iterations++

	var rerun []string
	for resumes := 0; ; resumes++ {
		j := readJournal(t, k.stateDir, runID)
		if j.status() == "finished" {
			break
		}
		if resumes == 50 {
			t.Fatalf("iteration %d: run %s not finished after 50 resumes", i, runID)
		}
		k.noOrphans(i, "a killed runbook")
		before := j.succeeded()
		ledgerBefore := ledger(t, k.ledgerPath(i), runID)
		reqsBefore := len(k.sim.requests(t))

		args := []string{"resume", "last", "--state-dir", k.stateDir}
		for _, r := range rerun {
			args = append(args, "--rerun", r)
		}
		// A resume has less left to do than an apply: half the window
		// keeps most of these kills inside its life.
		kill := time.Duration(-1)
		if rng.Float64() < 0.5 {
			kill = draw() / 2
		}
		o := run(t, runbookCmd(k.dir, childEnv(), args...), kill)
		k.stats.resumes++
		rerun = nil
		switch {
		case o.killed:
			k.stats.resumeKills++
		case o.err != nil:
			// The operator's part: a unit was caught mid-flight and its
			// provider cannot tell whether it took effect. Every action
			// here can be run again safely, so say so.
			for _, m := range rerunAsked.FindAllStringSubmatch(o.out, -1) {
				rerun = append(rerun, m[1])
			}
			if len(rerun) == 0 {
				t.Fatalf("iteration %d: resume failed: %v\n%s", i, o.err, o.out)
			}
			k.stats.rerunsAsked++
		}
		k.notRunAgain(i, runID, before, ledgerBefore, reqsBefore)
	}
	k.finished(i, runID)
}

// noOrphans checks that no plugin process outlived the runbook that
// started it.
func (k *killTorture) noOrphans(i int, after string) {
	if left := waitNoPlugins(2 * time.Second); len(left) > 0 {
		k.stats.orphans += len(left)
		k.t.Errorf("iteration %d: plugin processes %v still running 2s after %s", i, left, after)
		killPlugins(left)
	}
}

// notRunAgain checks one resume: no unit journaled as succeeded before it
// ran during it. For core and torture steps the ledger tells; for the
// manager steps, the simulator's request log does (the only requests for
// the snapshot come from step.create and its Check, and for its archive
// from step.download).
func (k *killTorture) notRunAgain(i int, runID string, before map[string]bool, ledgerBefore map[string]int, reqsBefore int) {
	t := k.t
	after := ledger(t, k.ledgerPath(i), runID)
	for unit := range killUnits {
		if before[unit] && after[unit] != ledgerBefore[unit] {
			t.Errorf("iteration %d: %s was journaled as succeeded, then ran again on resume (%d -> %d runs)",
				i, unit, ledgerBefore[unit], after[unit])
		}
	}
	snap := snapshotPath(runID)
	for _, r := range k.sim.requests(t)[reqsBefore:] {
		if before["step.create"] && r.Path == snap {
			t.Errorf("iteration %d: step.create was journaled as succeeded, then the resume sent %s %s", i, r.Method, r.Path)
		}
		if before["step.download"] && r.Path == snap+"/archive" {
			t.Errorf("iteration %d: step.download was journaled as succeeded, then the resume sent %s %s", i, r.Method, r.Path)
		}
	}
}

func snapshotPath(runID string) string {
	return "/api/v3.1/snapshots/torture-" + strings.ToLower(runID)
}

// finished checks a run that ended: every unit ran, the exact ones once,
// the snapshot was created once and its archive is on disk, and the
// journal reads back.
func (k *killTorture) finished(i int, runID string) {
	t := k.t
	j := readJournal(t, k.stateDir, runID)
	if j.status() != "finished" {
		t.Fatalf("iteration %d: run %s is %q", i, runID, j.status())
	}
	led := ledger(t, k.ledgerPath(i), runID)
	for unit, exact := range killUnits {
		switch n := led[unit]; {
		case n == 0:
			t.Errorf("iteration %d: %s never ran", i, unit)
		case exact && n != 1:
			t.Errorf("iteration %d: %s ran %d times; its Check is exact, so once", i, unit, n)
		default:
			k.stats.reexecutions += n - 1
		}
		if !j.succeeded()[unit] {
			t.Errorf("iteration %d: %s is not journaled as succeeded", i, unit)
		}
	}
	for _, unit := range killFinally {
		if led[unit] == 0 {
			t.Errorf("iteration %d: finally %s never ran", i, unit)
		}
	}
	puts := 0
	for _, r := range k.sim.requests(t) {
		if r.Method == "PUT" && r.Path == snapshotPath(runID) {
			puts++
		}
	}
	if puts != 1 {
		t.Errorf("iteration %d: the snapshot of run %s was PUT %d times", i, runID, puts)
	}
	archive := filepath.Join(k.backupDir(i), "torture-"+strings.ToLower(runID)+".zip")
	if fi, err := os.Stat(archive); err != nil || fi.Size() == 0 {
		t.Errorf("iteration %d: archive: %v", i, err)
	}
	k.noOrphans(i, "the run finished")
	if t.Failed() {
		t.Logf("iteration %d: ledger %v", i, led)
	}
}
