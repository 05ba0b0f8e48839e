// Package torture holds the torture tests of runbook ("Prove it", part 2):
// the real binaries, built once per test binary (TestMain), driven as an
// operator would, and killed, starved and faulted on purpose. Everything
// listens on loopback only. The tests are Linux-only: they read /proc,
// rely on the parent-death signal and mount a tmpfs.
//
// The cases:
//
//   - TestKillTorture: a runbook with core steps, a for_each step, finally
//     steps and plugin steps (the torture provider, a real go-plugin
//     process, and the manager provider against the manager simulator)
//     is applied, SIGKILLed at a random moment, then resumed (and, at
//     random, SIGKILLed again) until it finishes. Every step leaves
//     "ADDRESS RUN_ID" in a ledger (the manager steps leave requests in
//     the simulator's log), so the test proves: every run finishes; no
//     unit whose success was journaled before a resume ran again during
//     it; a unit whose provider has an exact Check ran exactly once, and
//     the snapshot was created once; `runbook runs show` reads every
//     journal; and no plugin process outlives a killed runbook. When a
//     resume stops to ask for --rerun (a Check that cannot tell), the
//     test answers as an operator would.
//   - TestPluginKilledMidStep: while a plugin step runs, its plugin
//     process (found among the runbook process's children in /proc) is
//     SIGKILLed: the attempt fails with the retryable "provider NAME
//     crashed" error, the retry starts a new plugin process, and the run
//     finishes. Once with the torture provider, once with the manager
//     provider in the shipped manager-snapshot-daily runbook.
//   - TestFaultStorm: manager-snapshot-daily is applied against the
//     simulator answering 30% of its API requests with 5xx, dropping
//     connections and adding latency spikes; it must finish through its
//     retry blocks, and the simulator's request log must show every kind
//     of fault hit.
//   - TestDiskFull: the state directory sits on a 256 KiB tmpfs (root, or
//     CI, which must be able to mount it), and separately under an
//     RLIMIT_FSIZE of 256 KiB (prlimit(1)): a runbook with large step
//     outputs fills it. The run stops with an error naming the journal and
//     "no space left on device" (or "file too large"), exits 1, leaves a
//     journal `runs show` reads (the torn tail dropped), fails the same way
//     when resumed with the disk still full, and finishes once space is
//     freed, without running again what was journaled as done.
//
// Modes. By default (inside `go test ./...`) each case runs a few
// iterations with a fixed seed: 8 kill iterations, one plugin kill of
// each kind, 3 fault storms, about 10 seconds in all. RUNBOOK_TORTURE=full
// (`make torture`) runs the long version, under two minutes: 100 kill
// iterations, 10 plugin kills of each kind, 20 fault storms, with a seed
// taken from the clock so that each run explores new schedules. RUNBOOK_TORTURE_SEED=N replays a seed; the seed in use is
// logged by every test. A seed fixes every random choice the tests make
// (when to kill, which faults the simulator draws); how far a process got
// when the kill lands still depends on the machine's timing, which is the
// point of the exercise.
package torture
