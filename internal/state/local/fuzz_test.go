package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/runbook-dev/runbook/internal/state"
)

// FuzzReadJournal feeds arbitrary bytes to the journal reader as a
// journal file (data), and as the tail of a real journal
// (testdata/journals, picked by pick) cut after any of its frames (cut).
//
// Whatever the bytes as a whole file: nothing panics; decode's end is
// within the file, and decoding the file cut at end gives the same
// records without error (what the reader keeps is a journal); Read agrees
// with decode, List lists the run, and Open of a readable journal cuts
// any torn tail so that an append lands right after the kept records.
//
// Whatever the tail: the records of the valid prefix come back first and
// unchanged, whether the tail reads as a torn write, as more records or as
// corruption.
//
//	go test ./internal/state/local -run '^$' -fuzz '^FuzzReadJournal$' -fuzztime 60s -fuzzminimizetime 1s
//
// (The default minimization, 60 s per new input, stalls on journals of
// several kilobytes: set -fuzzminimizetime.)
func FuzzReadJournal(f *testing.F) {
	journals := seedJournals(f)
	for i, j := range journals {
		f.Add(j, uint8(i), uint16(0))
		f.Add(j[:len(j)-3], uint8(i), uint16(1))                                        // torn in the last frame
		f.Add(append(append([]byte(nil), j...), j[headerLen:]...), uint8(i), uint16(2)) // every record twice: bad seq
		flipped := append([]byte(nil), j...)
		flipped[headerLen+frameLen+2] ^= 0x20 // damage in the first record
		f.Add(flipped, uint8(i), uint16(3))
	}
	f.Add([]byte("RBJ1\x02\x00"), uint8(0), uint16(0))
	f.Add([]byte("RBJ1\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00"), uint8(0), uint16(9))
	f.Add([]byte{}, uint8(1), uint16(100))
	// One state directory per fuzzing process, rewritten by every input:
	// a t.TempDir per input would cost more than the reading.
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte, pick uint8, cut uint16) {
		checkWholeFile(t, dir, data)
		checkValidPrefix(t, journals[int(pick)%len(journals)], int(cut), data)
	})
}

// seedJournals reads the real journals under testdata/journals.
func seedJournals(f *testing.F) [][]byte {
	paths, err := filepath.Glob(filepath.Join("testdata", "journals", "*.journal"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed journals under testdata/journals: %v", err)
	}
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if recs, end, err := decode(p, b); err != nil || end != len(b) || len(recs) < 2 {
			f.Fatalf("%s is not a whole journal: %d records, end %d of %d, %v", p, len(recs), end, len(b), err)
		}
		out = append(out, b)
	}
	return out
}

func checkWholeFile(t *testing.T, dir string, data []byte) {
	recs, end, err := decode("fuzz.journal", data)
	if end < 0 || end > len(data) {
		t.Fatalf("end %d outside a file of %d bytes", end, len(data))
	}
	if checkHeader("fuzz.journal", data) != nil {
		if err == nil || recs != nil {
			t.Fatalf("a file with a bad header read as %d records, %v", len(recs), err)
		}
		return
	}
	if err != nil && !errors.Is(err, state.ErrCorrupt) {
		t.Fatalf("decode: %v is neither a torn tail nor corruption", err)
	}
	again, end2, err2 := decode("fuzz.journal", data[:end])
	if err2 != nil || end2 != end || !sameRecords(again, recs) {
		t.Fatalf("the kept part (%d bytes) reads back as %d records, end %d, %v; first read %d records", end, len(again), end2, err2, len(recs))
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
	}

	const id = "01FUZZ"
	b := &Backend{dir: dir}
	if err := os.MkdirAll(b.runsDir(), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.journalPath(id), data, 0o600); err != nil {
		t.Fatal(err)
	}
	got, rerr := b.Read(context.Background(), id)
	switch {
	case err == nil && (rerr != nil || !sameRecords(got, recs)):
		t.Fatalf("Read: %d records, %v; decode: %d records", len(got), rerr, len(recs))
	case err != nil && rerr == nil:
		t.Fatalf("Read of a corrupt journal returned %d records and no error", len(got))
	}
	runs, lerr := b.List(context.Background())
	if lerr != nil || len(runs) != 1 || runs[0].ID != id {
		t.Fatalf("List: %v %v", runs, lerr)
	}
	if err != nil {
		return
	}
	j, opened, oerr := b.Open(context.Background(), id)
	if oerr != nil {
		t.Fatalf("Open of a readable journal: %v", oerr)
	}
	if !sameRecords(opened, recs) {
		t.Fatalf("Open read %d records, decode %d", len(opened), len(recs))
	}
	aerr := j.Append(context.Background(), &state.Record{Type: state.StepStarted, Step: "step.fuzz", Attempt: 1})
	if cerr := j.Close(); aerr != nil || cerr != nil {
		t.Fatalf("append after Open: %v, close: %v", aerr, cerr)
	}
	after, err := b.Read(context.Background(), id)
	if err != nil || len(after) != len(recs)+1 || !sameRecords(after[:len(recs)], recs) || after[len(recs)].Step != "step.fuzz" {
		t.Fatalf("after Open and an append: %d records (want %d), %v", len(after), len(recs)+1, err)
	}
}

func checkValidPrefix(t *testing.T, journal []byte, cut int, tail []byte) {
	// Frame boundaries of the real journal.
	ends := []int{headerLen}
	for off := headerLen; off < len(journal); {
		payload, ok := frameAt(journal, off)
		if !ok {
			t.Fatalf("seed journal: bad frame at %d", off)
		}
		off += frameLen + len(payload)
		ends = append(ends, off)
	}
	k := cut % len(ends)
	prefix := journal[:ends[k]]
	want, _, err := decode("prefix", prefix)
	if err != nil || len(want) != k {
		t.Fatalf("prefix of %d frames: %d records, %v", k, len(want), err)
	}
	file := append(append([]byte(nil), prefix...), tail...)
	recs, end, err := decode("fuzz.journal", file)
	if err != nil && !errors.Is(err, state.ErrCorrupt) {
		t.Fatalf("decode: %v", err)
	}
	if len(recs) < k || !sameRecords(recs[:k], want) {
		t.Fatalf("the %d records of the valid prefix did not come back intact: got %d records (%v)", k, len(recs), err)
	}
	if end < len(prefix) {
		t.Fatalf("decode keeps %d bytes, less than the valid prefix's %d", end, len(prefix))
	}
}

// sameRecords compares record lists, nil and empty alike.
func sameRecords(a, b []state.Record) bool {
	return len(a) == len(b) && (len(a) == 0 || reflect.DeepEqual(a, b))
}
