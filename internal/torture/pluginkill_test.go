//go:build linux

package torture

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/internal/state"
)

// TestPluginKilledMidStep SIGKILLs the plugin process under a running
// step: the attempt must fail with the retryable crash error, the retry
// run on a new plugin process, and the run finish.
func TestPluginKilledMidStep(t *testing.T) {
	_ = rngFor(t) // nothing random here; logs the mode
	rounds := pick(1, 10)
	t.Run("torture", func(t *testing.T) {
		rb := initRunbook(t, "testdata/pluginkill")
		for i := range rounds {
			killHold(t, rb, i)
		}
	})
	t.Run("manager", func(t *testing.T) {
		rb := initRunbook(t, "../../runbooks/manager-snapshot-daily")
		s := startSim(t)
		// Slow execution polls keep snapshot_create in its Apply for
		// seconds after it sent the PUT: that is when the plugin dies. The
		// retry costs none of it: it finds the snapshot and polls that.
		s.setFaults(t, simmanager.Faults{Rules: []simmanager.FaultRule{{PathPrefix: "/api/v3.1/executions", Latency: "3s"}}})
		for i := range rounds {
			killManager(t, rb, s, i)
		}
	})
}

// killHold kills the torture plugin while step.hold blocks in it.
func killHold(t *testing.T, rb string, round int) {
	work := t.TempDir()
	ledgerPath, marker, stateDir := filepath.Join(work, "ledger"), filepath.Join(work, "marker"), filepath.Join(work, "state")
	cmd := runbookCmd(rb, childEnv(), "apply", "--auto-approve", "--state-dir", stateDir,
		"-var", "ledger="+ledgerPath, "-var", "marker="+marker)
	wait := start(t, cmd)
	var pid int
	poll(t, "step.hold to start", func() bool {
		b, err := os.ReadFile(marker)
		pid, _ = strconv.Atoi(string(b))
		return err == nil && pid > 0
	})
	killChild(t, cmd.Process.Pid, pid, tortureBin)
	killed := time.Now()
	o := wait()
	if o.err != nil {
		t.Fatalf("round %d: apply after the plugin was killed: %v\n%s", round, o.err, o.out)
	}
	runID := runIDs(t, stateDir)[0]
	j := readJournal(t, stateDir, runID)
	msg := crashed(t, j, "step.hold", "provider torture crashed")
	for _, step := range []string{"step.hold", "step.after"} {
		v, ok := j.output(step, "pid")
		if !ok || string(v) == strconv.Itoa(pid) {
			t.Errorf("round %d: %s ran in plugin process %s, want a new one (the killed one was %d)", round, step, v, pid)
		}
	}
	want := map[string]int{"step.before": 1, "step.hold": 1, "step.after": 1, "step.cleanup": 1}
	if got := ledger(t, ledgerPath, runID); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("round %d: ledger %v, want %v", round, got, want)
	}
	if left := waitNoPlugins(2 * time.Second); len(left) > 0 {
		killPlugins(left)
		t.Errorf("round %d: plugin processes %v left after the run", round, left)
	}
	t.Logf("round %d: killed torture plugin %d under step.hold (%q); the run finished %s later on a new plugin process",
		round, pid, msg, time.Since(killed).Round(time.Millisecond))
}

// killManager kills the manager plugin while snapshot_create waits for
// the snapshot it has asked for.
func killManager(t *testing.T, rb string, s *sim, round int) {
	work := t.TempDir()
	stateDir := filepath.Join(work, "state")
	cmd := runbookCmd(rb, childEnv("RUNBOOK_VAR_admin_password=admin"), "apply", "--auto-approve", "--state-dir", stateDir,
		"-var-file", "drill.vars.hcl", "-var", "endpoint="+s.url, "-var", "backup_dir="+filepath.Join(work, "backups"))
	seen := len(s.requests(t))
	wait := start(t, cmd)
	var snap string
	poll(t, "the snapshot's PUT", func() bool {
		for _, r := range s.requests(t)[seen:] {
			if r.Method == "PUT" && strings.HasPrefix(r.Path, "/api/v3.1/snapshots/daily-") {
				snap = r.Path
				return true
			}
		}
		return false
	})
	var pid int
	poll(t, "the manager plugin among runbook's children", func() bool {
		for _, c := range childrenOf(cmd.Process.Pid) {
			if exeOf(c) == managerBin {
				pid = c
				return true
			}
		}
		return false
	})
	killChild(t, cmd.Process.Pid, pid, managerBin)
	killed := time.Now()
	o := wait()
	if o.err != nil {
		t.Fatalf("round %d: apply after the plugin was killed: %v\n%s", round, o.err, o.out)
	}
	j := readJournal(t, stateDir, runIDs(t, stateDir)[0])
	msg := crashed(t, j, "step.create", "provider manager crashed")
	puts := 0
	for _, r := range s.requests(t)[seen:] {
		if r.Method == "PUT" && r.Path == snap {
			puts++
		}
	}
	if puts != 1 {
		t.Errorf("round %d: %s was PUT %d times; the retry should take the snapshot over", round, snap, puts)
	}
	if left := waitNoPlugins(2 * time.Second); len(left) > 0 {
		killPlugins(left)
		t.Errorf("round %d: plugin processes %v left after the run", round, left)
	}
	t.Logf("round %d: killed manager plugin %d after it sent PUT %s (%q); the run finished %s later",
		round, pid, snap, msg, time.Since(killed).Round(time.Millisecond))
}

// killChild SIGKILLs pid after checking it is a child of parent running
// exe: the plugin the host started, not some other process.
func killChild(t *testing.T, parent, pid int, exe string) {
	t.Helper()
	if !slices.Contains(childrenOf(parent), pid) || exeOf(pid) != exe {
		t.Fatalf("process %d (%s) is not a child of runbook %d (children %v) running %s", pid, exeOf(pid), parent, childrenOf(parent), exe)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
}

// crashed checks the journal of a run that lost its plugin under step:
// one attempt failed with the crash error, a later one succeeded, and the
// run finished.
func crashed(t *testing.T, j journal, step, msg string) (first string) {
	t.Helper()
	if j.status() != "finished" {
		t.Errorf("run is %q, want finished", j.status())
	}
	var failures []string
	succeededAt := 0
	for _, r := range j.recs {
		switch {
		case r.Type == state.AttemptFailed && r.Step == step:
			failures = append(failures, r.Message)
		case r.Type == state.StepSucceeded && r.Step == step:
			succeededAt = r.Attempt
		}
	}
	if len(failures) == 0 || !strings.Contains(failures[0], msg) {
		t.Errorf("%s: failed attempts %q, want the first to say %q", step, failures, msg)
	}
	if succeededAt < 2 {
		t.Errorf("%s succeeded at attempt %d, want a retry", step, succeededAt)
	}
	if len(failures) > 0 {
		first = failures[0]
	}
	return first
}

// poll waits for cond; the bound only stops a broken test from hanging.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 20s for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}
