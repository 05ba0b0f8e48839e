package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/internal/state/local"
)

// Run statuses List reports besides the runs' own.
const (
	statusRunning     = "running"
	statusInterrupted = "interrupted"
	statusUnreadable  = "unreadable"
)

// Read returns a run's committed records. It takes no lock.
func (b *Backend) Read(ctx context.Context, runID string) ([]state.Record, error) {
	if err := b.checkRun(ctx, b.pool, runID); err != nil {
		return nil, err
	}
	return b.records(ctx, b.pool, runID)
}

// checkRun makes sure the run exists and this runbook can read it.
func (b *Backend) checkRun(ctx context.Context, q querier, runID string) error {
	if err := local.ValidRunID(runID); err != nil {
		return err
	}
	var version int
	err := q.QueryRow(ctx, b.sql(sqlRunVersion), b.workspace, runID).Scan(&version)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("%s run %s in workspace %q: %w", prefix, runID, b.workspace, state.ErrNotFound)
	case err != nil:
		return b.fail("reading run "+runID, err)
	case version > state.FormatVersion:
		return fmt.Errorf("%s run %s has journal format version %d; this runbook reads up to %d: %w",
			prefix, runID, version, state.FormatVersion, state.ErrNewerFormat)
	}
	return nil
}

// records reads a run's records in Seq order. Seq must run 1, 2, ... with
// no gap; anything else means rows were changed behind our back.
func (b *Backend) records(ctx context.Context, q querier, runID string) ([]state.Record, error) {
	rows, err := q.Query(ctx, b.sql(sqlRecords), b.workspace, runID)
	if err != nil {
		return nil, b.fail("reading run "+runID, err)
	}
	recs, err := pgx.CollectRows(rows, scanRecord)
	if err != nil {
		return nil, b.fail("reading run "+runID, err)
	}
	for i, r := range recs {
		if r.Seq != uint64(i+1) {
			return nil, fmt.Errorf("%s run %s: record %d has seq %d: %w", prefix, runID, i+1, r.Seq, state.ErrCorrupt)
		}
	}
	return recs, nil
}

func scanRecord(rows pgx.CollectableRow) (state.Record, error) {
	var r state.Record
	var seq int64
	var typ string
	var vals, run []byte
	err := rows.Scan(&seq, &r.Time, &typ, &r.Step, &r.Attempt, &r.Message, &r.Status, &r.Digest, &vals, &run)
	if err != nil {
		return r, err
	}
	r.Seq, r.Type, r.Time = uint64(seq), state.RecordType(typ), r.Time.UTC()
	if vals != nil {
		r.Values = json.RawMessage(vals)
	}
	if run != nil {
		r.Run = new(state.RunInfo)
		if err := json.Unmarshal(run, r.Run); err != nil {
			return r, fmt.Errorf("seq %d: run header: %v: %w", seq, err, state.ErrCorrupt)
		}
	}
	return r, nil
}

// List summarises the workspace's runs, newest first, from the runs
// table. A run without an outcome is running if its journal holds the
// workspace lock now, interrupted otherwise.
func (b *Backend) List(ctx context.Context) ([]state.RunSummary, error) {
	live, err := b.liveRun(ctx)
	if err != nil {
		return nil, b.fail("reading the lock holder", err)
	}
	rows, err := b.pool.Query(ctx, b.sql(sqlRuns), b.workspace)
	if err != nil {
		return nil, b.fail("listing runs", err)
	}
	runs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (state.RunSummary, error) {
		return scanSummary(row, live)
	})
	if err != nil {
		return nil, b.fail("listing runs", err)
	}
	return runs, nil
}

func scanSummary(row pgx.CollectableRow, live string) (state.RunSummary, error) {
	var s state.RunSummary
	var ended *time.Time
	var version int
	if err := row.Scan(&s.ID, &s.Runbook, &s.Version, &s.Started, &ended, &s.Status, &s.DryRun, &version); err != nil {
		return s, err
	}
	s.Started = s.Started.UTC()
	if ended != nil {
		s.Ended = ended.UTC()
	}
	switch {
	case version > state.FormatVersion:
		s.Status = statusUnreadable
	case s.Status != "":
	case s.ID == live:
		s.Status = statusRunning
	default:
		s.Status = statusInterrupted
	}
	return s, nil
}

// summaryInfo is the run header for the runs table, without the
// variables: they may be secret, and the RunStarted record has them.
func summaryInfo(run *state.RunInfo) (string, error) {
	c := *run
	c.Variables = nil
	data, err := json.Marshal(&c)
	return string(data), err
}
