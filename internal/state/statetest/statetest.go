// Package statetest is the conformance suite every state.Backend must pass,
// in the manner of terraform's statemgr testing helpers: a backend's own
// test calls Run with a constructor, and the suite checks the contract the
// engine relies on (durable ordered appends, resume, history, locking).
package statetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/internal/state"
)

// Run runs the suite. newBackend must return a new, empty backend each
// time it is called; the suite closes it.
func Run(t *testing.T, newBackend func(t *testing.T) state.Backend) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(*testing.T, state.Backend)
	}{
		{"RoundTrip", testRoundTrip},
		{"SeqOrder", testSeqOrder},
		{"ConcurrentAppends", testConcurrentAppends},
		{"OpenContinues", testOpenContinues},
		{"List", testList},
		{"UnknownRun", testUnknownRun},
		{"ReadWhileOpen", testReadWhileOpen},
		{"AppendAfterClose", testAppendAfterClose},
		{"Locked", testLocked},
		{"CreateExisting", testCreateExisting},
		{"CreateExistingIsErrExist", testCreateExistingIsErrExist},
		{"LockNamesHolder", testLockNamesHolder},
		{"CloseTwice", testCloseTwice},
		{"BadRecordUsesNoSeq", testBadRecordUsesNoSeq},
		{"AppendNoWait", testAppendNoWait},
		{"InvalidRunIDs", testInvalidRunIDs},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := newBackend(t)
			t.Cleanup(func() {
				if err := b.Close(); err != nil {
					t.Errorf("Backend.Close: %v", err)
				}
			})
			tc.fn(t, b)
		})
	}
}

// runID returns a time-sortable run ID like the engine's; n orders them.
func runID(n int) string { return fmt.Sprintf("20261124T0415%02dZ-7f3a", n) }

func runInfo(id string) *state.RunInfo {
	return &state.RunInfo{
		ID:             id,
		Runbook:        "manager-recovery",
		Version:        "1.3.0",
		Dir:            "/srv/runbooks/manager",
		Files:          map[string]string{"main.hcl": "9f86d081884c7d65"},
		Variables:      json.RawMessage(`{"manager_server":"mgr-1"}`),
		DryRun:         true,
		Targets:        []string{"step.restore"},
		Host:           "drill-1",
		User:           "ops",
		Parallelism:    10,
		JournalVersion: state.FormatVersion,
	}
}

func create(t *testing.T, b state.Backend, info *state.RunInfo) state.Journal {
	t.Helper()
	j, err := b.Create(t.Context(), info)
	if err != nil {
		t.Fatalf("Create(%s): %v", info.ID, err)
	}
	return j
}

func appendOK(t *testing.T, j state.Journal, recs ...*state.Record) {
	t.Helper()
	if err := j.Append(t.Context(), recs...); err != nil {
		t.Fatalf("Append: %v", err)
	}
}

func closeOK(t *testing.T, j state.Journal) {
	t.Helper()
	if err := j.Close(); err != nil {
		t.Fatalf("Journal.Close: %v", err)
	}
}

func read(t *testing.T, b state.Backend, id string) []state.Record {
	t.Helper()
	recs, err := b.Read(t.Context(), id)
	if err != nil {
		t.Fatalf("Read(%s): %v", id, err)
	}
	return recs
}

// everyType is one record of each type, every field set on some of them.
// Times are whole microseconds so that backends storing microseconds
// (postgres) round-trip them exactly.
func everyType(at time.Time) []*state.Record {
	at = at.Truncate(time.Microsecond)
	return []*state.Record{
		{Type: state.StepStarted, Step: "step.detach_ip", Time: at},
		{Type: state.AttemptStarted, Step: "step.detach_ip", Attempt: 1},
		{Type: state.AttemptFailed, Step: "step.detach_ip", Attempt: 1, Message: "503 Service Unavailable"},
		{Type: state.StepOutputs, Step: `step.evacuate["vm-1"]`, Values: json.RawMessage(`{"status":"done","n":[1,2]}`)},
		{Type: state.StepSucceeded, Step: `step.evacuate["vm-1"]`, Attempt: 2},
		{Type: state.StepFailed, Step: "step.restore", Message: "precondition failed"},
		{Type: state.StepSkipped, Step: "step.upload", Message: "when = false"},
		{Type: state.StepCancelled, Step: "step.wait"},
		{Type: state.RunOutputs, Values: json.RawMessage(`{"manager_ip":"10.0.0.9"}`)},
		{Type: state.RunResumed, Run: runInfo(runID(1))},
		{Type: state.RunEnded, Status: "failed", Message: "1 step failed", Time: at.Add(time.Second)},
	}
}

func testRoundTrip(t *testing.T, b state.Backend) {
	info := runInfo(runID(1))
	before := time.Now()
	j := create(t, b, info)
	recs := everyType(before)
	stamped := make([]bool, len(recs)) // whose Time the backend sets
	for i, r := range recs {
		stamped[i] = r.Time.IsZero()
	}
	appendOK(t, j, recs...)
	after := time.Now()
	closeOK(t, j)

	got := read(t, b, info.ID)
	if len(got) != len(recs)+1 {
		t.Fatalf("Read returned %d records, want %d", len(got), len(recs)+1)
	}
	first := got[0]
	if first.Seq != 1 || first.Type != state.RunStarted || !within(first.Time, before, after) {
		t.Errorf("first record = seq %d %s at %v, want seq 1 %s between %v and %v",
			first.Seq, first.Type, first.Time, state.RunStarted, before, after)
	}
	wantRun(t, first.Run, info)
	for i, want := range recs {
		if want.Seq != uint64(i+2) {
			t.Errorf("Append gave record %d seq %d, want %d", i, want.Seq, i+2)
		}
		if stamped[i] && !within(want.Time, before, after) {
			t.Errorf("Append gave record %d time %v, want between %v and %v", i, want.Time, before, after)
		}
		wantRecord(t, got[i+1], *want)
	}
}

func within(at, before, after time.Time) bool {
	const slack = time.Microsecond // backends may round to microseconds
	return !at.Before(before.Add(-slack)) && !at.After(after.Add(slack))
}

func wantRecord(t *testing.T, got, want state.Record) {
	t.Helper()
	if d := got.Time.Sub(want.Time); d > time.Microsecond || d < -time.Microsecond {
		t.Errorf("seq %d: time %v, want %v", want.Seq, got.Time, want.Time)
	}
	if !sameJSON(got.Values, want.Values) {
		t.Errorf("seq %d: values %s, want %s", want.Seq, got.Values, want.Values)
	}
	wantRun(t, got.Run, want.Run)
	got.Time, got.Values, got.Run = time.Time{}, nil, nil
	want.Time, want.Values, want.Run = time.Time{}, nil, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("record:\n got %+v\nwant %+v", got, want)
	}
}

func wantRun(t *testing.T, got, want *state.RunInfo) {
	t.Helper()
	if got == nil || want == nil {
		if got != want {
			t.Errorf("run info %+v, want %+v", got, want)
		}
		return
	}
	if !sameJSON(got.Variables, want.Variables) {
		t.Errorf("run variables %s, want %s", got.Variables, want.Variables)
	}
	g, w := *got, *want
	g.Variables, w.Variables = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("run info:\n got %+v\nwant %+v", g, w)
	}
}

// sameJSON compares JSON by value: a backend may re-encode it.
func sameJSON(a, b json.RawMessage) bool {
	if len(a) == 0 || len(b) == 0 {
		return len(a) == len(b)
	}
	var x, y any
	return json.Unmarshal(a, &x) == nil && json.Unmarshal(b, &y) == nil && reflect.DeepEqual(x, y)
}

func testSeqOrder(t *testing.T, b state.Backend) {
	j := create(t, b, runInfo(runID(1)))
	defer closeOK(t, j)
	appendOK(t, j, &state.Record{Type: state.StepStarted, Step: "step.a"})
	batch := []*state.Record{
		{Type: state.AttemptStarted, Step: "step.a", Attempt: 1},
		{Type: state.StepOutputs, Step: "step.a", Values: json.RawMessage(`{}`)},
		{Type: state.StepSucceeded, Step: "step.a"},
	}
	appendOK(t, j, batch...)
	appendOK(t, j) // nothing to append is not an error
	appendOK(t, j, &state.Record{Type: state.RunEnded, Status: "finished"})

	got := read(t, b, runID(1))
	wantTypes := []state.RecordType{state.RunStarted, state.StepStarted, state.AttemptStarted,
		state.StepOutputs, state.StepSucceeded, state.RunEnded}
	if len(got) != len(wantTypes) {
		t.Fatalf("got %d records, want %d", len(got), len(wantTypes))
	}
	for i, r := range got {
		if r.Seq != uint64(i+1) || r.Type != wantTypes[i] {
			t.Errorf("record %d = seq %d %s, want seq %d %s", i, r.Seq, r.Type, i+1, wantTypes[i])
		}
	}
}

// testConcurrentAppends appends from 50 goroutines at once, two records
// per call: every record must be present exactly once, Seq must have no
// gap, and one call's records must be adjacent.
func testConcurrentAppends(t *testing.T, b state.Backend) {
	const n = 50
	j := create(t, b, runInfo(runID(1)))
	defer closeOK(t, j)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for g := range n {
		wg.Go(func() {
			step := fmt.Sprintf("step.s%d", g)
			errs <- j.Append(t.Context(),
				&state.Record{Type: state.StepStarted, Step: step},
				&state.Record{Type: state.StepSucceeded, Step: step})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("Append: %v", err)
		}
	}
	if s := j.Syncs(); s < 1 || s > n+1 {
		t.Errorf("Syncs() = %d after %d appends, want 1..%d", s, n, n+1)
	}

	got := read(t, b, runID(1))
	if len(got) != 2*n+1 {
		t.Fatalf("got %d records, want %d", len(got), 2*n+1)
	}
	seen := map[string]bool{}
	for i, r := range got {
		if r.Seq != uint64(i+1) {
			t.Fatalf("record %d has seq %d", i, r.Seq)
		}
		if r.Type != state.StepStarted {
			continue
		}
		if seen[r.Step] {
			t.Errorf("%s appended twice", r.Step)
		}
		seen[r.Step] = true
		if next := got[i+1]; next.Type != state.StepSucceeded || next.Step != r.Step {
			t.Errorf("seq %d: %s %s is not followed by its call's other record", r.Seq, r.Type, r.Step)
		}
	}
	if len(seen) != n {
		t.Errorf("%d distinct appends present, want %d", len(seen), n)
	}
}

func testOpenContinues(t *testing.T, b state.Backend) {
	id := runID(1)
	j := create(t, b, runInfo(id))
	appendOK(t, j, &state.Record{Type: state.StepStarted, Step: "step.a"},
		&state.Record{Type: state.RunEnded, Status: "failed"})
	closeOK(t, j)
	want := read(t, b, id)

	j, got, err := b.Open(t.Context(), id)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if len(got) != len(want) {
		t.Fatalf("Open returned %d records, Read %d", len(got), len(want))
	}
	for i := range want {
		wantRecord(t, got[i], want[i])
	}
	rec := &state.Record{Type: state.RunResumed, Run: runInfo(id)}
	appendOK(t, j, rec)
	if rec.Seq != uint64(len(want)+1) {
		t.Errorf("append after Open got seq %d, want %d", rec.Seq, len(want)+1)
	}
	closeOK(t, j)
	if all := read(t, b, id); len(all) != len(want)+1 || all[len(want)].Type != state.RunResumed {
		t.Errorf("after resume: %d records, want %d ending in %s", len(all), len(want)+1, state.RunResumed)
	}
}

// testList makes four runs: finished, failed then resumed and interrupted,
// interrupted, and one still open.
func testList(t *testing.T, b state.Backend) {
	if runs, err := b.List(t.Context()); err != nil || len(runs) != 0 {
		t.Fatalf("List of an empty backend = %v, %v; want none", runs, err)
	}
	var ended []time.Time
	for i, status := range []string{"finished", "failed"} {
		info := runInfo(runID(i + 1))
		info.DryRun = i == 0
		j := create(t, b, info)
		end := &state.Record{Type: state.RunEnded, Status: status}
		appendOK(t, j, end)
		ended = append(ended, end.Time)
		closeOK(t, j)
		pause()
	}
	j, _, err := b.Open(t.Context(), runID(2))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	appendOK(t, j, &state.Record{Type: state.RunResumed, Run: runInfo(runID(2))})
	closeOK(t, j)
	closeOK(t, create(t, b, runInfo(runID(3))))
	pause()
	j = create(t, b, runInfo(runID(4)))
	defer closeOK(t, j)

	runs, err := b.List(t.Context())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	want := []struct {
		id     string
		status string
		ended  time.Time
		dryRun bool
	}{
		{runID(4), "running", time.Time{}, true},
		{runID(3), "interrupted", time.Time{}, true},
		{runID(2), "interrupted", time.Time{}, false},
		{runID(1), "finished", ended[0], true},
	}
	if len(runs) != len(want) {
		t.Fatalf("List returned %d runs, want %d: %+v", len(runs), len(want), runs)
	}
	for i, w := range want {
		r := runs[i]
		if r.ID != w.id || r.Status != w.status || r.DryRun != w.dryRun {
			t.Errorf("runs[%d] = %s %q dry-run %v, want %s %q dry-run %v", i, r.ID, r.Status, r.DryRun, w.id, w.status, w.dryRun)
		}
		if r.Runbook != "manager-recovery" || r.Version != "1.3.0" || r.Started.IsZero() {
			t.Errorf("runs[%d] = %+v: runbook, version or start missing", i, r)
		}
		if d := r.Ended.Sub(w.ended); d > time.Microsecond || d < -time.Microsecond {
			t.Errorf("runs[%d] ended %v, want %v", i, r.Ended, w.ended)
		}
	}
	closeOK(t, j)
	runs, err = b.List(t.Context())
	if err != nil || len(runs) != len(want) || runs[0].Status != "interrupted" {
		t.Errorf("after Close, List = %+v, %v; want %s interrupted", runs, err, runID(4))
	}
}

// pause separates start times so "newest first" is unambiguous even for
// a backend whose clock ticks in microseconds.
func pause() { time.Sleep(2 * time.Millisecond) }

func testUnknownRun(t *testing.T, b state.Backend) {
	closeOK(t, create(t, b, runInfo(runID(1))))
	id := runID(9)
	_, err := b.Read(t.Context(), id)
	wantErr(t, "Read", err, state.ErrNotFound, id)
	j, _, err := b.Open(t.Context(), id)
	if j != nil {
		_ = j.Close()
	}
	wantErr(t, "Open", err, state.ErrNotFound, id)
	// A failed Open must not keep the lock.
	closeOK(t, create(t, b, runInfo(runID(2))))
}

func wantErr(t *testing.T, op string, err, target error, mention string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: error %v, want one wrapping %q", op, err, target)
	} else if !strings.Contains(err.Error(), mention) {
		t.Errorf("%s: error %q does not mention %s", op, err, mention)
	}
}

func testReadWhileOpen(t *testing.T, b state.Backend) {
	done := create(t, b, runInfo(runID(1)))
	appendOK(t, done, &state.Record{Type: state.RunEnded, Status: "finished"})
	closeOK(t, done)

	j := create(t, b, runInfo(runID(2)))
	defer closeOK(t, j)
	appendOK(t, j, &state.Record{Type: state.StepStarted, Step: "step.a"})
	if got := read(t, b, runID(2)); len(got) != 2 || got[1].Step != "step.a" {
		t.Errorf("Read of the open run = %+v, want RunStarted and step.a", got)
	}
	if got := read(t, b, runID(1)); len(got) != 2 {
		t.Errorf("Read of a closed run while another is open: %d records, want 2", len(got))
	}
}

func testAppendAfterClose(t *testing.T, b state.Backend) {
	j := create(t, b, runInfo(runID(1)))
	closeOK(t, j)
	if err := j.Append(t.Context(), &state.Record{Type: state.StepStarted, Step: "step.a"}); err == nil {
		t.Fatal("Append after Close succeeded")
	}
	if got := read(t, b, runID(1)); len(got) != 1 {
		t.Errorf("after a refused Append: %d records, want 1", len(got))
	}
}

func testLocked(t *testing.T, b state.Backend) {
	closeOK(t, create(t, b, runInfo(runID(1))))
	holder := create(t, b, runInfo(runID(2)))

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	start := time.Now()
	j, err := b.Create(ctx, runInfo(runID(3)))
	if j != nil {
		_ = j.Close()
	}
	wantErr(t, "second Create", err, state.ErrLocked, runID(2))
	if d := time.Since(start); d > time.Second {
		t.Errorf("second Create took %v to fail; it must not wait for the holder", d)
	}
	j, _, err = b.Open(ctx, runID(1))
	if j != nil {
		_ = j.Close()
	}
	wantErr(t, "Open while locked", err, state.ErrLocked, runID(2))

	closeOK(t, holder)
	closeOK(t, create(t, b, runInfo(runID(3))))
}

func testCreateExisting(t *testing.T, b state.Backend) {
	closeOK(t, create(t, b, runInfo(runID(1))))
	j, err := b.Create(t.Context(), runInfo(runID(1)))
	if err == nil {
		_ = j.Close()
		t.Fatal("Create of an existing run succeeded")
	}
	if got := read(t, b, runID(1)); len(got) != 1 {
		t.Errorf("the existing run has %d records, want 1", len(got))
	}
	closeOK(t, create(t, b, runInfo(runID(2)))) // the failed Create let go of the lock
}

// The tests below were the local backend's own; they hold for any backend.

func testCreateExistingIsErrExist(t *testing.T, b state.Backend) {
	closeOK(t, create(t, b, runInfo(runID(1))))
	j, err := b.Create(t.Context(), runInfo(runID(1)))
	if j != nil {
		_ = j.Close()
	}
	if !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create of an existing run: %v, want one wrapping fs.ErrExist", err)
	}
}

// testLockNamesHolder: a refused run says who has the state, so that the
// operator can tell a colleague's run from a dead one.
func testLockNamesHolder(t *testing.T, b state.Backend) {
	j := create(t, b, runInfo(runID(1)))
	defer closeOK(t, j)
	other, err := b.Create(t.Context(), runInfo(runID(2)))
	if other != nil {
		_ = other.Close()
	}
	host, _ := os.Hostname()
	for _, want := range []string{runID(1), "host " + host, "started 20"} {
		if !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), want) {
			t.Errorf("second Create: %v; want ErrLocked mentioning %q", err, want)
		}
	}
}

func testCloseTwice(t *testing.T, b state.Backend) {
	j := create(t, b, runInfo(runID(1)))
	closeOK(t, j)
	if err := j.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	closeOK(t, create(t, b, runInfo(runID(2)))) // and the lock is free
}

// testBadRecordUsesNoSeq: a record that cannot be stored fails its Append
// alone, before any of the call's records get a Seq.
func testBadRecordUsesNoSeq(t *testing.T, b state.Backend) {
	j := create(t, b, runInfo(runID(1)))
	defer closeOK(t, j)
	good := &state.Record{Type: state.StepStarted, Step: "step.a"}
	bad := &state.Record{Type: state.StepOutputs, Step: "step.a", Values: []byte("{not json")}
	for _, recs := range [][]*state.Record{{good, bad}, {good, nil}} {
		if err := j.Append(t.Context(), recs...); err == nil {
			t.Fatalf("Append of %+v succeeded", recs[1])
		}
		if good.Seq != 0 || !good.Time.IsZero() {
			t.Errorf("failed Append stamped its records: seq %d, time %v", good.Seq, good.Time)
		}
	}
	if err := j.Append(t.Context(), good); err != nil || good.Seq != 2 {
		t.Errorf("next Append: seq %d, %v; want seq 2", good.Seq, err)
	}
	if got := read(t, b, runID(1)); len(got) != 2 {
		t.Errorf("%d records stored, want 2", len(got))
	}
}

// testAppendNoWait: queued records are stored, in order, by the next
// Append or by Close.
func testAppendNoWait(t *testing.T, b state.Backend) {
	j := create(t, b, runInfo(runID(1)))
	nw, ok := j.(state.NoWaitAppender)
	if !ok {
		closeOK(t, j)
		t.Skip("the journal has no AppendNoWait")
	}
	queued := &state.Record{Type: state.AttemptStarted, Step: "step.a", Attempt: 1}
	if err := nw.AppendNoWait(t.Context(), queued); err != nil {
		t.Fatalf("AppendNoWait: %v", err)
	}
	appendOK(t, j, &state.Record{Type: state.StepSucceeded, Step: "step.a"})
	if err := nw.AppendNoWait(t.Context(), &state.Record{Type: state.RunEnded, Status: "finished"}); err != nil {
		t.Fatalf("AppendNoWait: %v", err)
	}
	closeOK(t, j)
	if queued.Seq != 2 {
		t.Errorf("AppendNoWait gave seq %d, want 2", queued.Seq)
	}
	got := read(t, b, runID(1))
	want := []state.RecordType{state.RunStarted, state.AttemptStarted, state.StepSucceeded, state.RunEnded}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d", len(got), len(want))
	}
	for i, r := range got {
		if r.Seq != uint64(i+1) || r.Type != want[i] {
			t.Errorf("record %d = seq %d %s, want seq %d %s", i, r.Seq, r.Type, i+1, want[i])
		}
	}
}

// testInvalidRunIDs: every backend takes the same run IDs, so that a run
// could move between them; these are refused everywhere.
func testInvalidRunIDs(t *testing.T, b state.Backend) {
	for _, id := range []string{"", ".", "..", "../x", "a/b", `a\b`, ".hidden", "a\x00b", "a b", strings.Repeat("x", 201)} {
		j, errCreate := b.Create(t.Context(), &state.RunInfo{ID: id})
		if j != nil {
			_ = j.Close()
		}
		j, _, errOpen := b.Open(t.Context(), id)
		if j != nil {
			_ = j.Close()
		}
		_, errRead := b.Read(t.Context(), id)
		for _, err := range []error{errCreate, errOpen, errRead} {
			if err == nil || !strings.Contains(err.Error(), "invalid run ID") {
				t.Errorf("run ID %q: %v, want an invalid run ID error", id, err)
			}
		}
	}
	if runs, err := b.List(t.Context()); err != nil || len(runs) != 0 {
		t.Errorf("List after invalid IDs = %+v, %v; want no runs", runs, err)
	}
}
