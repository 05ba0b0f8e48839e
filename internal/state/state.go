// Package state owns the journal and the run history behind one Backend
// interface. A run's journal is an ordered list of Records, each written
// durably before the engine acts on it (write-ahead); replaying the records
// gives back every step's status, attempts and outputs, which is what
// history and resume read.
//
// Implementations live in subpackages (local, postgres) and must pass the
// conformance suite in statetest. This package imports no engine code.
package state

import (
	"context"
	"encoding/json"
	"errors"
	"time"
)

// FormatVersion is the journal format this code writes. A backend refuses
// to read a journal whose version is newer.
const FormatVersion = 1

// RecordType names a transition.
type RecordType string

// The transitions a journal records.
const (
	RunStarted     RecordType = "run_started"
	StepStarted    RecordType = "step_started"
	AttemptStarted RecordType = "attempt_started"
	AttemptFailed  RecordType = "attempt_failed"
	StepOutputs    RecordType = "step_outputs"
	StepSucceeded  RecordType = "step_succeeded"
	StepFailed     RecordType = "step_failed"
	StepSkipped    RecordType = "step_skipped"
	StepCancelled  RecordType = "step_cancelled"
	// StepInterrupted: a step caught mid-flight by a crash that resume
	// could not settle; it stays so until the operator says --rerun.
	StepInterrupted RecordType = "step_interrupted"
	RunOutputs      RecordType = "run_outputs"
	RunEnded        RecordType = "run_ended"
	RunResumed      RecordType = "run_resumed"
)

// Record is one journal entry. Fields not used by a type are empty.
type Record struct {
	Seq  uint64     `json:"seq"` // assigned by the backend, from 1
	Time time.Time  `json:"time"`
	Type RecordType `json:"type"`
	// Step is the step address, with the item key for a for_each item:
	// step.x or step.x["key"].
	Step    string `json:"step,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
	Message string `json:"message,omitempty"`
	// Status is the run status for RunEnded.
	Status string `json:"status,omitempty"`
	// Digest identifies the step's definition for StepSucceeded, so that
	// resume can tell when a finished step was changed since.
	Digest string `json:"digest,omitempty"`
	// Values holds outputs (StepOutputs, RunOutputs) encoded by the engine;
	// sensitive values arrive here already encrypted.
	Values json.RawMessage `json:"values,omitempty"`
	// Run holds the run header for RunStarted and RunResumed.
	Run *RunInfo `json:"run,omitempty"`
}

// RunInfo describes a run: what was run, from where, by whom.
type RunInfo struct {
	ID             string            `json:"id"`
	Runbook        string            `json:"runbook"`
	Version        string            `json:"version,omitempty"`
	Dir            string            `json:"dir"`
	Files          map[string]string `json:"files"` // path -> sha256, to detect changes on resume
	Variables      json.RawMessage   `json:"variables,omitempty"`
	DryRun         bool              `json:"dry_run,omitempty"`
	Targets        []string          `json:"targets,omitempty"`
	Host           string            `json:"host,omitempty"`
	User           string            `json:"user,omitempty"`
	Parallelism    int               `json:"parallelism,omitempty"`
	JournalVersion int               `json:"journal_version"`
}

// RunSummary is one line of `runbook runs list`.
type RunSummary struct {
	ID      string
	Runbook string
	Version string
	Started time.Time
	Ended   time.Time // zero while running or after a crash
	// Status is the Status of the last RunEnded, unless a RunResumed
	// follows it (a resumed run is open again). A run without one is
	// "running" while its journal is open and "interrupted" otherwise
	// (it crashed or was killed: resumable). A journal the backend cannot
	// summarise is listed as "corrupt" (ErrCorrupt) or "unreadable"
	// (written by a newer runbook, or an I/O error) instead of failing
	// the whole list.
	Status string
	DryRun bool
}

// Backend stores journals.
type Backend interface {
	// Create starts the journal of a new run with its RunStarted record.
	// Create and Open take the backend's lock, held until the Journal is
	// closed: while one journal is open, another Create or Open fails at
	// once with an error wrapping ErrLocked that names the holder.
	Create(ctx context.Context, info *RunInfo) (Journal, error)
	// Open reopens a run's journal to append to it (resume). It returns
	// ErrNotFound for an unknown run.
	Open(ctx context.Context, runID string) (Journal, []Record, error)
	// Read returns a run's records without opening it for writing. It
	// takes no lock and works while the run's journal is open.
	Read(ctx context.Context, runID string) ([]Record, error)
	// List returns every run, newest first.
	List(ctx context.Context) ([]RunSummary, error)
	// Close releases the backend.
	Close() error
}

// Journal appends records to one run.
type Journal interface {
	// Append writes records durably and returns once they are on stable
	// storage. Concurrent calls share one sync (group commit). It assigns
	// Seq (consecutive, in append order) and, when zero, Time, in the
	// caller's records. One call's records are consecutive. Append after
	// Close fails.
	Append(ctx context.Context, recs ...*Record) error
	// Syncs reports how many times the journal was synced to disk.
	Syncs() int64
	// Close flushes and releases the journal.
	Close() error
}

// NoWaitAppender is an optional Journal capability: queue records without
// waiting for their sync; they become durable with the next Append. The
// engine uses it only for records whose loss a crash can afford.
type NoWaitAppender interface {
	AppendNoWait(ctx context.Context, recs ...*Record) error
}

// Errors a backend returns; wrap them with detail.
var (
	ErrNotFound    = errors.New("no such run")
	ErrNewerFormat = errors.New("journal written by a newer runbook")
	ErrCorrupt     = errors.New("journal is corrupt")
	ErrLocked      = errors.New("state is locked by another run")
)
