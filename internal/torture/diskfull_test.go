//go:build linux

package torture

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// limit is the room the journal gets: 256 KiB, which the runbook's 16
// items of 24000 bytes each (in their StepSucceeded records) overflow
// after about ten.
const limit = 256 << 10

// TestDiskFull fills the filesystem under the state directory while a run
// writes its journal, two ways. A tmpfs of 256 KiB is the real thing
// (ENOSPC from the filesystem, for every file in the state dir), but
// mounting one needs root. RLIMIT_FSIZE (prlimit(1)) needs no privilege
// and fails the journal's write with EFBIG at the same size; Go ignores
// the SIGXFSZ that comes with it, so the process sees an error, not a
// signal.
func TestDiskFull(t *testing.T) {
	_ = rngFor(t) // nothing random here; logs the mode
	t.Run("tmpfs", func(t *testing.T) {
		if os.Geteuid() != 0 {
			skipOrFail(t, "mounting a tmpfs needs root")
		}
		stateDir := filepath.Join(t.TempDir(), "state")
		if err := os.Mkdir(stateDir, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Mount("tmpfs", stateDir, "tmpfs", 0, fmt.Sprintf("size=%d,mode=0700", limit)); err != nil {
			skipOrFail(t, "mount -t tmpfs: "+err.Error())
		}
		t.Cleanup(func() { _ = syscall.Unmount(stateDir, syscall.MNT_DETACH) })
		diskFull(t, stateDir, nil, "no space left on device", func() {
			if err := syscall.Mount("tmpfs", stateDir, "tmpfs", syscall.MS_REMOUNT, "size=4m"); err != nil {
				t.Fatalf("growing the tmpfs: %v", err)
			}
		})
	})
	t.Run("rlimit", func(t *testing.T) {
		prlimit, err := exec.LookPath("prlimit")
		if err != nil {
			skipOrFail(t, "no prlimit (util-linux)")
		}
		stateDir := filepath.Join(t.TempDir(), "state")
		diskFull(t, stateDir, []string{prlimit, fmt.Sprintf("--fsize=%d", limit), "--"}, "file too large", nil)
	})
}

// skipOrFail skips where the environment cannot run a case, loudly (on
// stderr, seen without -v), and fails in CI, which must run it.
func skipOrFail(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s, and CI must run %s", why, t.Name())
	}
	fmt.Fprintf(os.Stderr, "SKIP %s: %s\n", t.Name(), why)
	t.Skip(why)
}

// diskFull runs testdata/diskfull into the full state dir (through wrap,
// when set), resumes it while still full, then frees space (free, or no
// more wrap) and resumes it to the end.
func diskFull(t *testing.T, stateDir string, wrap []string, want string, free func()) {
	rb := initRunbook(t, "testdata/diskfull")
	ledgerPath := filepath.Join(t.TempDir(), "ledger")
	cmd := func(wrap []string, args ...string) *exec.Cmd {
		args = append(args, "--state-dir", stateDir)
		if len(wrap) == 0 {
			return runbookCmd(rb, childEnv(), args...)
		}
		c := exec.Command(wrap[0], append(append(wrap[1:], runbookBin), args...)...)
		c.Dir, c.Env = rb, childEnv()
		return c
	}

	// 1. The run fills the disk and stops, saying why and where.
	o := run(t, cmd(wrap, "apply", "--auto-approve", "--parallelism", "1",
		"-var", "ledger="+ledgerPath, "-var", "items=16", "-var", "bytes=24000"), -1)
	if o.exitCode() != 1 {
		t.Fatalf("apply on a full disk: exit %d (%v), want 1\n%s", o.exitCode(), o.err, o.out)
	}
	stopped := lastLine(o.out)
	for _, s := range []string{"journal", stateDir, want} {
		if !strings.Contains(stopped, s) {
			t.Errorf("apply's error %q does not say %q", stopped, s)
		}
	}
	ids := runIDs(t, stateDir) // fails on a journal listed corrupt
	if len(ids) != 1 {
		t.Fatalf("runs %v", ids)
	}
	runID := ids[0]
	path := filepath.Join(stateDir, "runs", runID+".journal")
	size, recs, torn := frames(t, path)
	if !strings.Contains(runsShow(t, rb, stateDir, runID), "Status: interrupted") {
		t.Error("runs show does not call the run interrupted")
	}
	j := readJournal(t, stateDir, runID)
	if len(j.recs) != recs {
		t.Errorf("the backend reads %d records, the file holds %d whole frames", len(j.recs), recs)
	}
	done := j.succeeded()
	t.Logf("apply stopped: %q; the journal is %d bytes: %d records and a torn tail of %d bytes, dropped on read; %d units journaled as done",
		stopped, size, recs, torn, len(done))

	// 2. Resuming with the disk still full fails the same way (it may not
	// even get to write: lock.info needs room too) and harms nothing.
	led := ledger(t, ledgerPath, runID)
	o = run(t, cmd(wrap, "resume", "last", "--parallelism", "1"), -1)
	if o.exitCode() != 1 || !strings.Contains(o.out, want) || !strings.Contains(lastLine(o.out), stateDir) {
		t.Errorf("resume on a full disk: exit %d, want 1 and %q naming %s\n%s", o.exitCode(), want, stateDir, o.out)
	}
	notRunAgain(t, done, led, ledger(t, ledgerPath, runID))
	runsShow(t, rb, stateDir, runID)
	t.Logf("resume with the disk still full: %q", lastLine(o.out))

	// 3. With room again, resume finishes the run.
	if free != nil {
		free()
	}
	j = readJournal(t, stateDir, runID)
	done, led = j.succeeded(), ledger(t, ledgerPath, runID)
	o = run(t, cmd(nil, "resume", "last"), -1)
	if o.err != nil {
		t.Fatalf("resume after freeing space: %v\n%s", o.err, o.out)
	}
	after := ledger(t, ledgerPath, runID)
	notRunAgain(t, done, led, after)
	if j = readJournal(t, stateDir, runID); j.status() != "finished" {
		t.Fatalf("run %s is %q after the last resume", runID, j.status())
	}
	again := 0
	for i := range 16 {
		unit := fmt.Sprintf(`step.fill["%02d"]`, i)
		if after[unit] == 0 {
			t.Errorf("%s never ran", unit)
		}
		again += max(after[unit]-1, 0)
	}
	if after["step.after"] == 0 || after["step.cleanup"] == 0 {
		t.Errorf("ledger %v: step.after or the finally step never ran", after)
	}
	if !strings.Contains(runsShow(t, rb, stateDir, runID), "Status: finished") {
		t.Error("runs show does not call the run finished")
	}
	size, recs, torn = frames(t, path)
	if torn != 0 {
		t.Errorf("the finished journal ends with %d bytes that are not a whole record", torn)
	}
	t.Logf("after freeing space, resume finished the run: journal %d bytes, %d records; %d items ran twice (their success had not reached the disk)",
		size, recs, again)
}

// notRunAgain fails for a unit journaled as succeeded that ran again.
func notRunAgain(t *testing.T, done map[string]bool, before, after map[string]int) {
	t.Helper()
	for unit := range done {
		if before[unit] != after[unit] && !strings.HasPrefix(unit, "step.cleanup") {
			t.Errorf("%s was journaled as succeeded, then ran again (%d -> %d)", unit, before[unit], after[unit])
		}
	}
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}

// frames walks a journal file by its documented format (internal/state/
// local: a 6-byte header, then frames of u32 length, u32 CRC-32C, JSON
// payload) and counts the whole frames and the bytes after the last one.
func frames(t *testing.T, path string) (size, whole, torn int) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) < 6 || string(data[:4]) != "RBJ1" {
		t.Fatalf("%s has no journal header", path)
	}
	table := crc32.MakeTable(crc32.Castagnoli)
	off := 6
	for off+8 <= len(data) {
		n := int(binary.LittleEndian.Uint32(data[off:]))
		if n == 0 || off+8+n > len(data) || crc32.Checksum(data[off+8:off+8+n], table) != binary.LittleEndian.Uint32(data[off+4:]) {
			break
		}
		whole++
		off += 8 + n
	}
	return len(data), whole, len(data) - off
}
