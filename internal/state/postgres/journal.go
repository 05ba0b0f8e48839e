package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/runbook-dev/runbook/internal/state"
)

// Journal appends to one run, group-committed (state.GroupCommit): each
// batch is sent in one pipelined, implicit transaction through the lock's
// session. Whether a failed commit happened is unknown (the reply may be
// what was lost), so appends then stop; reopening shows what was stored.
type Journal struct {
	*state.GroupCommit[row]
	b     *Backend // names, statements and the password to mask
	runID string
	lock  *wsLock
}

var _ state.NoWaitAppender = (*Journal)(nil)

func newJournal(b *Backend, runID string, lk *wsLock, next uint64, syncs int64) *Journal {
	j := &Journal{b: b, runID: runID, lock: lk}
	j.GroupCommit = state.NewGroupCommit(state.GroupCommitConfig[row]{
		Name: prefix + " run " + runID, Next: next, Syncs: syncs,
		Encode: func(dst []row, r *state.Record) ([]row, error) {
			rw, err := toRow(r)
			return append(dst, rw), err
		},
		Write: j.write, Now: now,
	})
	return j
}

// LockID returns the ID of the workspace lock this journal holds.
func (j *Journal) LockID() string { return j.lock.id }

// write commits rows, and the run's new outcome if they change it, in one
// batch: PostgreSQL runs a batch as one implicit transaction.
func (j *Journal) write(rows []row) error {
	batch := &pgx.Batch{}
	insert := j.b.sql(sqlInsertRecord)
	for _, r := range rows {
		batch.Queue(insert, r.args(j.b.workspace, j.runID)...)
	}
	if status, ended, changed := outcome(rows); changed {
		batch.Queue(j.b.sql(sqlSetOutcome), j.b.workspace, j.runID, status, ended)
	}
	if j.b.beforeCommit != nil {
		j.b.beforeCommit()
	}
	ctx, cancel := context.WithTimeout(context.Background(), commitTimeout)
	defer cancel()
	if err := j.lock.conn.SendBatch(ctx, batch).Close(); err != nil {
		return j.writeErr(err)
	}
	return nil
}

func (j *Journal) writeErr(err error) error {
	if j.lock.conn.IsClosed() {
		err = fmt.Errorf("%s lost the connection holding the workspace lock: %w; "+
			"run %s takes no more records (its last batch may or may not be stored): resume it to go on",
			prefix, err, j.runID)
	} else {
		err = fmt.Errorf("%s run %s: writing records: %w", prefix, j.runID, err)
	}
	return mask(err, j.b.password)
}

// outcome is what rows do to the run's summary: a RunEnded sets its status
// and end, a later RunResumed opens the run again.
func outcome(rows []row) (status string, ended *time.Time, changed bool) {
	for _, r := range rows {
		switch state.RecordType(r.typ) {
		case state.RunEnded:
			status, ended, changed = r.status, &r.time, true
		case state.RunResumed:
			status, ended, changed = "", nil, true
		}
	}
	return status, ended, changed
}

// Close commits what is queued and releases the workspace lock. It
// returns the error that stopped appends, if any. Closing twice is
// harmless.
func (j *Journal) Close() error {
	failed := j.GroupCommit.Close()
	if errors.Is(failed, state.ErrClosedTwice) {
		return nil
	}
	return errors.Join(failed, j.lock.release(j.b))
}

// row is a record as the records table holds it.
type row struct {
	seq                                int64
	time                               time.Time
	typ, step, message, status, digest string
	attempt                            int
	vals, run                          []byte
}

// toRow checks and converts r (which has its Seq and Time). Values must
// be JSON, as the local backend demands.
func toRow(r *state.Record) (row, error) {
	if len(r.Values) > 0 && !json.Valid(r.Values) {
		return row{}, fmt.Errorf("%s record: values are not valid JSON", r.Type)
	}
	var run []byte
	if r.Run != nil {
		var err error
		if run, err = json.Marshal(r.Run); err != nil {
			return row{}, fmt.Errorf("encoding %s record: %w", r.Type, err)
		}
	}
	return row{
		seq: int64(r.Seq), time: r.Time, typ: text(string(r.Type)), step: text(r.Step), message: text(r.Message),
		status: text(r.Status), digest: text(r.Digest), attempt: r.Attempt, vals: r.Values, run: run,
	}, nil
}

func (r row) args(workspace, runID string) []any {
	return []any{workspace, runID, r.seq, r.time, r.typ, r.step, r.attempt, r.message, r.status, r.digest, r.vals, r.run}
}

// text makes s storable in a text column, which takes neither NUL nor
// invalid UTF-8: an Append must not fail over an odd byte in an error
// message. Invalid UTF-8 becomes U+FFFD, as encoding/json (and so the
// local backend) does; NUL too.
func text(s string) string {
	if utf8.ValidString(s) && !strings.ContainsRune(s, 0) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}
