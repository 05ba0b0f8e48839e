// Package local is the embedded default state backend: journals and run
// history in a state directory on the local disk (by default .runbook/
// beside the runbook). It owns that directory:
//
//	DIR/runs/RUN_ID.journal  one append-only journal per run
//	DIR/lock                 the workspace lock, held while a journal is open
//	DIR/lock.info            who holds it: run ID, host, pid, start time
//
// Why a checksummed append-only log, one file per run: the engine writes
// every transition durably before acting on it, so a chain of dependent
// steps pays one fsync per transition, and fsync is nearly all the cost
// (115 µs and up on our disks; the rest of an Append is about 5 µs). An
// append to a log needs exactly one fsync, and group commit lets parallel
// steps share it; bbolt syncs twice per commit (pages, then meta page) and
// SQLite's WAL adds syncs and checkpoints of its own. One file per run
// keeps damage to one journal from touching the others, and a log makes
// crash recovery simple to state: see decode for how a torn tail is told
// from corruption.
//
// Format: a header ("RBJ1", u16 format version), then frames of
// [u32 length][u32 CRC-32C of payload][payload = JSON of state.Record],
// little-endian. JSON keeps journals readable with standard tools and lets
// Record grow fields without a format change.
package local

import (
	"context"
	"errors"
	"fmt"
	"github.com/google/renameio/v2"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/state"
)

// Run statuses List reports for a journal it cannot summarise.
const (
	statusCorrupt    = "corrupt"
	statusUnreadable = "unreadable"
)

// Backend is a state directory. It holds no open files: a Journal holds
// its own file and the workspace lock.
type Backend struct {
	dir string
	// beforeSync, when set by a test, runs before each journal sync, so a
	// test can hold the committer and watch appends queue up.
	beforeSync func()
}

var _ state.Backend = (*Backend)(nil)

// New returns the backend for the state directory dir, which is created
// on the first Create.
func New(dir string) (*Backend, error) {
	if dir == "" {
		return nil, errors.New("local state: no state directory given")
	}
	fi, err := os.Stat(dir)
	switch {
	case err == nil && !fi.IsDir():
		return nil, fmt.Errorf("state dir %s is not a directory", dir)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("state dir %s: %w", dir, err)
	}
	return &Backend{dir: dir}, nil
}

func (b *Backend) runsDir() string              { return filepath.Join(b.dir, "runs") }
func (b *Backend) lockPath() string             { return filepath.Join(b.dir, "lock") }
func (b *Backend) infoPath() string             { return filepath.Join(b.dir, "lock.info") }
func (b *Backend) journalPath(id string) string { return filepath.Join(b.runsDir(), id+".journal") }

// dirErr names the state dir; the OS error says why ("permission denied").
func (b *Backend) dirErr(err error) error {
	return fmt.Errorf("state dir %s: %w", b.dir, err)
}

// ValidRunID reports whether id can name a journal file: letters, digits,
// '.', '_' and '-', not starting with '.' (which rules out "." and "..").
func ValidRunID(id string) error {
	if id == "" {
		return errors.New("invalid run ID: empty")
	}
	if len(id) > 200 {
		return fmt.Errorf("invalid run ID %.20q...: longer than 200 characters", id)
	}
	if id[0] == '.' {
		return fmt.Errorf("invalid run ID %q: must not start with '.'", id)
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-", c)
		if !ok {
			return fmt.Errorf("invalid run ID %q: only letters, digits, '.', '_' and '-' are allowed", id)
		}
	}
	return nil
}

// Create writes the new run's journal with its RunStarted record and takes
// the workspace lock until the journal is closed. The journal records
// info with JournalVersion set to state.FormatVersion when zero.
func (b *Backend) Create(ctx context.Context, info *state.RunInfo) (state.Journal, error) {
	if info == nil {
		return nil, errors.New("local state: Create needs a RunInfo")
	}
	if err := ValidRunID(info.ID); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(b.runsDir(), 0o700); err != nil {
		return nil, b.dirErr(err)
	}
	lk, err := b.lock(info.ID)
	if err != nil {
		return nil, err
	}
	j, err := b.create(info, lk)
	if err != nil {
		return nil, errors.Join(err, lk.release())
	}
	return j, nil
}

func (b *Backend) create(info *state.RunInfo, lk *wsLock) (*Journal, error) {
	path := b.journalPath(info.ID)
	if _, err := os.Lstat(path); err == nil {
		return nil, fmt.Errorf("run %s in state dir %s: %w", info.ID, b.dir, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, b.dirErr(err)
	}
	run := *info // the caller's RunInfo is left as it was
	if run.JournalVersion == 0 {
		run.JournalVersion = state.FormatVersion
	}
	first := &state.Record{Seq: 1, Time: time.Now().UTC(), Type: state.RunStarted, Run: &run}
	data, err := appendFrame(appendHeader(nil, state.FormatVersion), first)
	if err != nil {
		return nil, err
	}
	// A journal file exists whole, with its header and RunStarted, or not
	// at all. Holding the lock, nobody races us to the name.
	if err := writeAtomic(path, data); err != nil {
		return nil, b.dirErr(err)
	}
	if err := syncDir(b.runsDir()); err != nil {
		return nil, b.dirErr(err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, b.dirErr(err)
	}
	return newJournal(path, f, lk, 2, 1, b.beforeSync), nil
}

// writeAtomic writes a 0600 file through a synced temporary file and a
// rename (google/renameio), so readers see all of data or nothing. Not
// renameio.WriteFile: it keeps the mode of a file it replaces (its
// WithExistingPermissions wins over WithStaticPermissions).
func writeAtomic(path string, data []byte) error {
	pf, err := renameio.NewPendingFile(path, renameio.WithStaticPermissions(0o600))
	if err != nil {
		return err
	}
	defer func() { _ = pf.Cleanup() }()
	if _, err := pf.Write(data); err != nil {
		return err
	}
	return pf.CloseAtomicallyReplace()
}

// syncDir makes a new directory entry durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	return errors.Join(d.Sync(), d.Close())
}

// Open takes the workspace lock and reopens a run's journal for appending.
// A torn tail left by a crash is cut off first, so appends follow the last
// good record.
func (b *Backend) Open(ctx context.Context, runID string) (state.Journal, []state.Record, error) {
	path, err := b.existing(ctx, runID)
	if err != nil {
		return nil, nil, err
	}
	lk, err := b.lock(runID)
	if err != nil {
		return nil, nil, err
	}
	j, recs, err := b.open(path, lk)
	if err != nil {
		return nil, nil, errors.Join(err, lk.release())
	}
	return j, recs, nil
}

func (b *Backend) open(path string, lk *wsLock) (*Journal, []state.Record, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, b.dirErr(err)
	}
	recs, end, err := decode(path, data)
	if err != nil {
		return nil, nil, err // before opening for write: a bad file is left as it is
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return nil, nil, b.dirErr(err)
	}
	var syncs int64
	if end < len(data) {
		if err := truncate(f, end); err != nil {
			_ = f.Close()
			return nil, nil, fmt.Errorf("cutting the torn tail of %s: %w", path, err)
		}
		syncs = 1
	}
	return newJournal(path, f, lk, uint64(len(recs))+1, syncs, b.beforeSync), recs, nil
}

func truncate(f *os.File, size int) error {
	if err := f.Truncate(int64(size)); err != nil {
		return err
	}
	return f.Sync()
}

// Read returns a run's records. It takes no lock: a journal being written
// reads as its records so far (a half-written batch is a torn tail).
func (b *Backend) Read(ctx context.Context, runID string) ([]state.Record, error) {
	path, err := b.existing(ctx, runID)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, b.dirErr(err)
	}
	recs, _, err := decode(path, data)
	if err != nil {
		return nil, err
	}
	return recs, nil
}

// existing returns the journal path of a run that exists.
func (b *Backend) existing(ctx context.Context, runID string) (string, error) {
	if err := ValidRunID(runID); err != nil {
		return "", err
	}
	if err := ctx.Err(); err != nil {
		return "", err
	}
	path := b.journalPath(runID)
	_, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "", fmt.Errorf("run %s in state dir %s: %w", runID, b.dir, state.ErrNotFound)
	case err != nil:
		return "", b.dirErr(err)
	}
	return path, nil
}

// List summarises every run, newest first. A journal that cannot be read
// is listed with status "corrupt" or "unreadable" rather than failing the
// whole list.
func (b *Backend) List(ctx context.Context) ([]state.RunSummary, error) {
	entries, err := os.ReadDir(b.runsDir())
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, b.dirErr(err)
	}
	live := b.liveRun()
	var runs []state.RunSummary
	for _, e := range entries {
		id, ok := strings.CutSuffix(e.Name(), ".journal")
		if !ok || ValidRunID(id) != nil {
			continue // writeAtomic's temporary files, strays
		}
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		runs = append(runs, b.summary(id, live))
	}
	sort.Slice(runs, func(i, k int) bool {
		if !runs[i].Started.Equal(runs[k].Started) {
			return runs[i].Started.After(runs[k].Started)
		}
		return runs[i].ID > runs[k].ID
	})
	return runs, nil
}

func (b *Backend) summary(id, live string) state.RunSummary {
	data, err := os.ReadFile(b.journalPath(id))
	if err != nil {
		return state.RunSummary{ID: id, Status: statusUnreadable}
	}
	recs, _, err := decode(b.journalPath(id), data)
	s := summarize(id, recs)
	switch {
	case errors.Is(err, state.ErrCorrupt):
		s.Status = statusCorrupt
	case err != nil:
		s.Status = statusUnreadable
	case s.Status != "":
	case id == live:
		s.Status = "running"
	default:
		s.Status = "interrupted"
	}
	return s
}

// summarize reads the header from RunStarted and the outcome from the last
// RunEnded, unless a RunResumed follows it: a resumed run is open again.
func summarize(id string, recs []state.Record) state.RunSummary {
	s := state.RunSummary{ID: id}
	for _, r := range recs {
		switch r.Type {
		case state.RunStarted:
			s.Started = r.Time
			if r.Run != nil {
				s.Runbook, s.Version, s.DryRun = r.Run.Runbook, r.Run.Version, r.Run.DryRun
			}
		case state.RunEnded:
			s.Status, s.Ended = r.Status, r.Time
		case state.RunResumed:
			s.Status, s.Ended = "", time.Time{}
		}
	}
	return s
}

// Close does nothing: journals are closed by their owners.
func (b *Backend) Close() error { return nil }
