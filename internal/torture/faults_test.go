//go:build linux

package torture

import (
	"path/filepath"
	"testing"
	"time"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/internal/state"
)

// storm is the fault set of TestFaultStorm. The simulator applies the
// first rule that draws a fault. The first three API requests of a run
// meet one fault of each kind for sure (a dropped connection, a 503, a
// 150ms latency spike), so that every run proves each kind is survived
// whatever the draws; then the storm proper: 5% of requests dropped (the
// connection closed without an answer), 10% 500, 10% 502 and 15% 503 of
// the rest (29.6% of all requests answer 5xx), and 5% of those left
// delayed by a 150ms spike.
func storm(seed uint64) simmanager.Faults {
	const api = "/api/v3.1/"
	return simmanager.Faults{Seed: seed, Rules: []simmanager.FaultRule{
		{PathPrefix: api, DropRate: 1, Times: 1},
		{PathPrefix: api, ErrorRate: 1, ErrorStatus: 503, Times: 1},
		{PathPrefix: api, Latency: "150ms", Times: 1},
		{PathPrefix: api, DropRate: 0.05},
		{PathPrefix: api, ErrorRate: 0.10, ErrorStatus: 500},
		{PathPrefix: api, ErrorRate: 0.10, ErrorStatus: 502},
		{PathPrefix: api, ErrorRate: 0.15, ErrorStatus: 503},
		{PathPrefix: api, Latency: "150ms", LatencyRate: 0.05},
	}}
}

// TestFaultStorm applies the shipped manager-snapshot-daily runbook, with
// its drill variables, through the real binaries against a simulator in a
// fault storm: it must finish through retries alone.
func TestFaultStorm(t *testing.T) {
	rng := rngFor(t)
	rb := initRunbook(t, "../../runbooks/manager-snapshot-daily")
	s := startSim(t)
	work := t.TempDir()
	backups, stateDir := filepath.Join(work, "backups"), filepath.Join(work, "state")
	runs := pick(3, 20)
	var requests, retried int
	faults := map[string]int{}
	var took time.Duration
	for i := range runs {
		seed := rng.Uint64()
		seen := len(s.requests(t))
		s.setFaults(t, storm(seed))
		// Retries from 2ms, doubling: a step may fail a dozen times in a
		// row and still finish within seconds, and 30 attempts make
		// running out of them a one-in-a-million event at these rates.
		// Polling every 5ms puts more requests through the storm.
		o := run(t, runbookCmd(rb, childEnv("RUNBOOK_VAR_admin_password=admin"), "apply", "--auto-approve",
			"--state-dir", stateDir, "-var-file", "drill.vars.hcl", "-var", "endpoint="+s.url, "-var", "backup_dir="+backups,
			"-var", "retry_attempts=30", "-var", "retry_delay=2ms", "-var", "poll_interval=5ms"), -1)
		if o.err != nil {
			t.Fatalf("run %d (fault seed %d) failed: %v\n%s", i, seed, o.err, o.out)
		}
		took += o.duration
		id := runIDs(t, stateDir)[0]
		j := readJournal(t, stateDir, id)
		if j.status() != "finished" {
			t.Fatalf("run %d is %q", i, j.status())
		}
		n := j.count(state.AttemptFailed, "")
		retried += n
		reqs := s.requests(t)[seen:]
		requests += len(reqs)
		kinds := map[string]int{}
		for k, r := range reqs {
			if want := []string{"drop", "error", "latency"}; k < len(want) && r.Fault != want[k] {
				t.Errorf("run %d: request %d met fault %q, want %q", i, k, r.Fault, want[k])
			}
			if r.Fault != "" {
				kinds[r.Fault]++
				faults[r.Fault]++
			}
			if r.Fault == "error" && r.Status < 500 {
				t.Errorf("an injected error answered %d", r.Status)
			}
			if r.Fault == "drop" && (!r.Dropped || r.Status != 0) {
				t.Errorf("a drop was answered: %+v", r)
			}
		}
		runsShow(t, rb, stateDir, id)
		t.Logf("run %d (fault seed %d): finished in %s; %d API requests, %d answered 5xx, %d dropped, %d delayed; %d attempts failed and were retried",
			i, seed, o.duration.Round(time.Millisecond), len(reqs), kinds["error"], kinds["drop"], kinds["latency"], n)
	}
	if retried < runs {
		t.Errorf("%d attempts retried in %d runs: every run's first request is dropped", retried, runs)
	}
	// Enough requests for the rate to mean something (full mode).
	if rate := float64(faults["error"]) / float64(requests); requests >= 300 && (rate < 0.2 || rate > 0.4) {
		t.Errorf("%.0f%% of %d requests answered 5xx, want about 30%%", 100*rate, requests)
	}
	t.Logf("%d runs in %s: %d API requests, %d answered 5xx (%.1f%%), %d dropped, %d delayed; %d attempts retried",
		runs, took.Round(time.Millisecond), requests, faults["error"], 100*float64(faults["error"])/float64(requests),
		faults["drop"], faults["latency"], retried)
	if left := waitNoPlugins(2 * time.Second); len(left) > 0 {
		killPlugins(left)
		t.Errorf("plugin processes %v left after the runs", left)
	}
}
