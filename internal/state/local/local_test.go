package local

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/internal/state/statetest"
)

const runID = "20261124T041500Z-7f3a"

func TestConformance(t *testing.T) {
	statetest.Run(t, func(t *testing.T) state.Backend { return newBackend(t) })
}

func newBackend(t testing.TB) *Backend {
	t.Helper()
	b, err := New(filepath.Join(t.TempDir(), ".runbook"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func create(t testing.TB, b *Backend, id string) *Journal {
	t.Helper()
	j, err := b.Create(t.Context(), &state.RunInfo{ID: id, Runbook: "manager-recovery", Dir: "/srv"})
	if err != nil {
		t.Fatal(err)
	}
	return j.(*Journal)
}

// journalBytes writes a run of n records (RunStarted included) and
// returns its file and records.
func journalBytes(t *testing.T, n int) ([]byte, []state.Record) {
	t.Helper()
	b := newBackend(t)
	j := create(t, b, runID)
	for i := 2; i <= n; i++ {
		rec := &state.Record{Type: state.StepOutputs, Step: fmt.Sprintf("step.s%d", i), Values: []byte(`{"id":"abc"}`)}
		if err := j.Append(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	recs, err := b.Read(t.Context(), runID)
	if err != nil || len(recs) != n {
		t.Fatalf("Read = %d records, %v; want %d", len(recs), err, n)
	}
	data, err := os.ReadFile(b.journalPath(runID))
	if err != nil {
		t.Fatal(err)
	}
	return data, recs
}

// frameOffsets returns where each frame of a good journal starts.
func frameOffsets(t *testing.T, data []byte) []int {
	t.Helper()
	var offs []int
	for off := headerLen; off < len(data); {
		payload, ok := frameAt(data, off)
		if !ok {
			t.Fatalf("bad frame at %d", off)
		}
		offs = append(offs, off)
		off += frameLen + len(payload)
	}
	return offs
}

// withJournal returns a backend whose run runID has the journal data.
func withJournal(t *testing.T, data []byte) *Backend {
	t.Helper()
	b := newBackend(t)
	if err := os.MkdirAll(b.runsDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.journalPath(runID), data, 0o600); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestTornTail cuts the last record at every byte: reading must give the
// records before it, and reopening must cut the tail and continue.
func TestTornTail(t *testing.T) {
	data, want := journalBytes(t, 4)
	offs := frameOffsets(t, data)
	last := offs[len(offs)-1]
	b := withJournal(t, nil)
	path := b.journalPath(runID)
	for cut := last; cut < len(data); cut++ {
		if err := os.WriteFile(path, data[:cut], 0o600); err != nil {
			t.Fatal(err)
		}
		got, err := b.Read(t.Context(), runID)
		if err != nil {
			t.Fatalf("cut at %d: Read: %v", cut, err)
		}
		if !reflect.DeepEqual(got, want[:len(want)-1]) {
			t.Fatalf("cut at %d: Read returned %d records, want the first %d", cut, len(got), len(want)-1)
		}

		j, recs, err := b.Open(t.Context(), runID)
		if err != nil {
			t.Fatalf("cut at %d: Open: %v", cut, err)
		}
		if fi, err := os.Stat(path); err != nil || fi.Size() != int64(last) || len(recs) != len(want)-1 {
			t.Fatalf("cut at %d: Open left %v bytes (%v) and returned %d records; want %d bytes, %d records",
				cut, fi.Size(), err, len(recs), last, len(want)-1)
		}
		rec := &state.Record{Type: state.RunEnded, Status: "failed"}
		if err := j.Append(t.Context(), rec); err != nil || rec.Seq != uint64(len(want)) {
			t.Fatalf("cut at %d: Append: seq %d, %v", cut, rec.Seq, err)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
		if got, err := b.Read(t.Context(), runID); err != nil || len(got) != len(want) || got[len(want)-1].Type != state.RunEnded {
			t.Fatalf("cut at %d: after append: %d records, %v", cut, len(got), err)
		}
	}
}

// TestCorruptMiddle flips every bit of the middle record in turn: each
// must be reported as corruption at that record's offset, never read past
// or mistaken for a torn tail.
func TestCorruptMiddle(t *testing.T) {
	data, _ := journalBytes(t, 3)
	offs := frameOffsets(t, data)
	mid, end := offs[1], offs[2]
	at := fmt.Sprintf("offset %d", mid)
	for bit := mid * 8; bit < end*8; bit++ {
		bad := flip(data, bit)
		_, _, err := decode("j", bad)
		if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), at) {
			t.Fatalf("bit %d flipped: %v, want ErrCorrupt at %s", bit, err, at)
		}
	}

	bad := flip(data, (mid+frameLen+5)*8+2)
	b := withJournal(t, bad)
	_, err := b.Read(t.Context(), runID)
	if !errors.Is(err, state.ErrCorrupt) || !strings.Contains(err.Error(), at) || !strings.Contains(err.Error(), b.journalPath(runID)) {
		t.Errorf("Read: %v, want ErrCorrupt naming the file and %s", err, at)
	}
	if _, _, err := b.Open(t.Context(), runID); !errors.Is(err, state.ErrCorrupt) {
		t.Errorf("Open: %v, want ErrCorrupt", err)
	}
	unchanged(t, b.journalPath(runID), bad)

	// List still works: the corrupt run is marked, others are listed,
	// stray files are ignored.
	closeOK(t, create(t, b, "20261124T041600Z-0001"))
	if err := os.WriteFile(filepath.Join(b.runsDir(), "x.journal123.tmp"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	runs, err := b.List(t.Context())
	if err != nil || len(runs) != 2 || runs[1].ID != runID || runs[1].Status != "corrupt" || runs[0].Status != "interrupted" {
		t.Errorf("List = %+v, %v; want the new run interrupted and %s corrupt", runs, err, runID)
	}
}

// A flipped bit in the last record cannot be told from a torn write.
func TestCorruptLastIsTorn(t *testing.T) {
	data, want := journalBytes(t, 3)
	got, end, err := decode("j", flip(data, len(data)*8-3))
	if err != nil || len(got) != 2 || !reflect.DeepEqual(got, want[:2]) || end != frameOffsets(t, data)[2] {
		t.Errorf("decode = %d records, end %d, %v; want 2 records", len(got), end, err)
	}
}

func flip(data []byte, bit int) []byte {
	c := bytes.Clone(data)
	c[bit/8] ^= 1 << (bit % 8)
	return c
}

func unchanged(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("%s was changed (%v)", path, err)
	}
}

func closeOK(t *testing.T, j *Journal) {
	t.Helper()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestNewerFormat(t *testing.T) {
	data, _ := journalBytes(t, 2)
	binary.LittleEndian.PutUint16(data[len(magic):], state.FormatVersion+1)
	b := withJournal(t, data)
	if _, err := b.Read(t.Context(), runID); !errors.Is(err, state.ErrNewerFormat) {
		t.Errorf("Read: %v, want ErrNewerFormat", err)
	}
	if _, _, err := b.Open(t.Context(), runID); !errors.Is(err, state.ErrNewerFormat) {
		t.Errorf("Open: %v, want ErrNewerFormat", err)
	}
	unchanged(t, b.journalPath(runID), data)
	runs, err := b.List(t.Context())
	if err != nil || len(runs) != 1 || runs[0].Status != "unreadable" {
		t.Errorf("List = %+v, %v; want the run unreadable", runs, err)
	}
	closeOK(t, create(t, b, "20261124T041600Z-0001")) // the failed Open let go of the lock
}

func TestPermissionDenied(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("SKIPPED: running as root, which ignores file modes; run as another user to test permission errors")
	}
	b := newBackend(t)
	closeOK(t, create(t, b, runID))
	if err := os.Chmod(b.dir, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(b.dir, 0o700) })

	_, errCreate := b.Create(t.Context(), &state.RunInfo{ID: "20261124T041600Z-0001"})
	_, _, errOpen := b.Open(t.Context(), runID)
	_, errRead := b.Read(t.Context(), runID)
	_, errList := b.List(t.Context())
	for op, err := range map[string]error{"Create": errCreate, "Open": errOpen, "Read": errRead, "List": errList} {
		if err == nil || !strings.Contains(err.Error(), b.dir) || !strings.Contains(err.Error(), "permission denied") {
			t.Errorf("%s: %v, want an error naming %s and permission denied", op, err, b.dir)
		}
	}
}

func TestInvalidRunIDs(t *testing.T) {
	b := newBackend(t)
	for _, id := range []string{"", ".", "..", "../x", "a/b", `a\b`, ".hidden", "a\x00b", "a b", strings.Repeat("x", 201)} {
		_, errCreate := b.Create(t.Context(), &state.RunInfo{ID: id})
		_, _, errOpen := b.Open(t.Context(), id)
		_, errRead := b.Read(t.Context(), id)
		for _, err := range []error{errCreate, errOpen, errRead} {
			if err == nil || !strings.Contains(err.Error(), "invalid run ID") {
				t.Errorf("run ID %q: %v, want an invalid run ID error", id, err)
			}
		}
	}
	if _, err := os.Stat(filepath.Dir(b.dir)); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(b.dir)); len(entries) != 0 {
		t.Errorf("invalid IDs left files beside the state dir: %v", entries)
	}
	if err := ValidRunID(runID); err != nil {
		t.Errorf("ValidRunID(%q): %v", runID, err)
	}
}

// TestGroupCommit holds the committer inside a sync while 20 appends
// queue up: they must then be written with one more sync.
func TestGroupCommit(t *testing.T) {
	b := newBackend(t)
	gate, syncing := make(chan struct{}), make(chan struct{}, 100)
	b.beforeSync = func() { syncing <- struct{}{}; <-gate }
	j := create(t, b, runID)
	defer closeOK(t, j)

	var wg sync.WaitGroup
	appendOne := func(step string) {
		wg.Go(func() {
			if err := j.Append(t.Context(), &state.Record{Type: state.StepStarted, Step: step}); err != nil {
				t.Error(err)
			}
		})
	}
	appendOne("step.first")
	<-syncing // the committer holds the first batch
	const n = 20
	for i := range n {
		appendOne(fmt.Sprintf("step.s%d", i))
	}
	for deadline := time.Now().Add(5 * time.Second); queuedCalls(j) < n; {
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d appends queued", queuedCalls(j), n)
		}
		time.Sleep(100 * time.Microsecond)
	}
	close(gate)
	wg.Wait()
	if got := j.Syncs(); got != 3 { // create, first batch, second batch
		t.Errorf("Syncs() = %d, want 3", got)
	}
	if recs, err := b.Read(t.Context(), runID); err != nil || len(recs) != n+2 {
		t.Errorf("Read = %d records, %v; want %d", len(recs), err, n+2)
	}
}

func queuedCalls(j *Journal) int { return j.Waiting() }

// TestWriteFailureStopsAppends: after a failed write the tail is unknown,
// so every later append must fail too.
func TestWriteFailureStopsAppends(t *testing.T) {
	b := newBackend(t)
	j := create(t, b, runID)
	j.f.Close() // make the next write fail
	rec := &state.Record{Type: state.StepStarted, Step: "step.a"}
	if err := j.Append(t.Context(), rec); err == nil {
		t.Fatal("Append to a failed file succeeded")
	}
	if err := j.Append(t.Context(), rec); err == nil {
		t.Fatal("Append after a failed write succeeded")
	}
	if err := j.Close(); err == nil {
		t.Error("Close hid the write failure")
	}
	closeOK(t, create(t, b, "20261124T041600Z-0001")) // the lock was released
}

func TestLockHolderAndModes(t *testing.T) {
	b := newBackend(t)
	j := create(t, b, runID)
	_, err := b.Create(t.Context(), &state.RunInfo{ID: "20261124T041600Z-0001"})
	host, _ := os.Hostname()
	for _, want := range []string{runID, "host " + host, fmt.Sprintf("pid %d", os.Getpid()), "started 20"} {
		if !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), want) {
			t.Errorf("second Create: %v; want ErrLocked mentioning %q", err, want)
		}
	}
	for path, mode := range map[string]os.FileMode{
		b.dir: 0o700, b.runsDir(): 0o700, b.lockPath(): 0o600, b.infoPath(): 0o600, b.journalPath(runID): 0o600,
	} {
		if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != mode {
			t.Errorf("%s: mode %v (%v), want %v", path, fi.Mode().Perm(), err, mode)
		}
	}
	closeOK(t, j)
	if _, err := os.Stat(b.infoPath()); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock.info still there after Close: %v", err)
	}
	if err := j.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// A record that does not encode fails its Append alone and uses no Seq.
func TestBadRecordUsesNoSeq(t *testing.T) {
	b := newBackend(t)
	j := create(t, b, runID)
	defer closeOK(t, j)
	good := &state.Record{Type: state.StepStarted, Step: "step.a"}
	bad := &state.Record{Type: state.StepOutputs, Step: "step.a", Values: []byte("{not json")}
	if err := j.Append(t.Context(), good, bad); err == nil {
		t.Fatal("Append of invalid JSON values succeeded")
	}
	if good.Seq != 0 || !good.Time.IsZero() {
		t.Errorf("failed Append stamped its records: seq %d, time %v", good.Seq, good.Time)
	}
	if err := j.Append(t.Context(), good); err != nil || good.Seq != 2 {
		t.Errorf("next Append: seq %d, %v; want seq 2", good.Seq, err)
	}
	if _, err := b.Create(t.Context(), &state.RunInfo{ID: runID}); !errors.Is(err, state.ErrLocked) {
		t.Errorf("Create while open: %v, want ErrLocked", err)
	}
}

func TestCreateExistingIsErrExist(t *testing.T) {
	b := newBackend(t)
	closeOK(t, create(t, b, runID))
	if _, err := b.Create(t.Context(), &state.RunInfo{ID: runID}); !errors.Is(err, os.ErrExist) {
		t.Errorf("Create of an existing run: %v, want os.ErrExist", err)
	}
}
