package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/internal/state/local"
	"github.com/runbook-dev/runbook/internal/state/postgres"
	"github.com/runbook-dev/runbook/runbook"
)

// The environment's say in where state lives. The connection string comes
// from the environment so that a password need not be written in the
// runbook, and it may differ between machines. RUNBOOK_BACKEND is for the
// commands that have no runbook to ask (runs, output, force-unlock, resume
// RUN_ID outside the runbook's directory): where there is a runbook, its
// backend block decides, as Terraform's does.
const (
	envBackend   = "RUNBOOK_BACKEND"
	envConnStr   = "RUNBOOK_BACKEND_CONN_STR"
	envSchema    = "RUNBOOK_BACKEND_SCHEMA_NAME"
	envWorkspace = "RUNBOOK_BACKEND_WORKSPACE"
)

// stateConfig says where a command's runs are journaled.
type stateConfig struct {
	kind string // dsl.BackendLocal or dsl.BackendPostgres
	dir  string // local: the state directory
	pg   postgres.Config
	// keyDir holds journal.key when RUNBOOK_JOURNAL_KEY is unset: the
	// local state directory, or for postgres, .runbook beside the
	// runbook, as the key must never reach the shared database.
	keyDir string
}

func localState(dir string) *stateConfig {
	return &stateConfig{kind: dsl.BackendLocal, dir: dir, keyDir: dir}
}

// stateForRunbook is where cfg's backend block, the --state-dir flag and
// the environment put the runbook's runs.
func stateForRunbook(cfg *dsl.Config, stateDir string) (*stateConfig, hcl.Diagnostics) {
	var b *dsl.Backend
	if cfg.Runbook != nil {
		b = cfg.Runbook.Backend
	}
	if b == nil || b.Type == dsl.BackendLocal {
		return localState(localDir(cfg.Dir, b, stateDir)), nil
	}
	if stateDir != "" {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "State directory with a postgres backend",
			Detail:   "--state-dir places a local backend's state; this runbook keeps its state in PostgreSQL. Drop --state-dir.",
			Subject:  b.DeclRange.Ptr(),
		}}
	}
	sc := &stateConfig{kind: dsl.BackendPostgres, pg: postgresConfig(b), keyDir: filepath.Join(cfg.Dir, ".runbook")}
	if sc.pg.ConnString == "" {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No connection string for the postgres backend",
			Detail: fmt.Sprintf("Set conn_str in this backend block, or, to keep a password out of the runbook, "+
				"the environment variable %s (which overrides conn_str).", envConnStr),
			Subject: b.DeclRange.Ptr(),
		}}
	}
	return sc, nil
}

// localDir is the flag's directory, else the block's path, else .runbook
// beside the runbook.
func localDir(runbookDir string, b *dsl.Backend, flag string) string {
	switch {
	case flag != "":
		return flag
	case b != nil && b.StateDir(runbookDir) != "":
		return b.StateDir(runbookDir)
	}
	return filepath.Join(runbookDir, ".runbook")
}

// postgresConfig reads a postgres block: the environment's connection
// string wins over the block's (a machine's own route or password); the
// schema and workspace in the block win over the environment's, since
// they say which state the runbook is.
func postgresConfig(b *dsl.Backend) postgres.Config {
	c := postgres.Config{ConnString: b.Arg("conn_str"), SchemaName: b.Arg("schema_name"), Workspace: b.Arg("workspace")}
	if cs := os.Getenv(envConnStr); cs != "" {
		c.ConnString = cs
	}
	if c.SchemaName == "" {
		c.SchemaName = os.Getenv(envSchema)
	}
	if c.Workspace == "" {
		c.Workspace = os.Getenv(envWorkspace)
	}
	return c
}

// stateForCommand is where a command without a runbook argument finds
// runs: --state-dir, else the backend block of the runbook in the current
// directory, else RUNBOOK_BACKEND, else .runbook here.
func stateForCommand(ss *session, stateDir string) (*stateConfig, error) {
	if stateDir != "" {
		return localState(stateDir), nil
	}
	b, found, diags := ss.loader.LoadBackend(".")
	if err := ss.report(diags); err != nil {
		return nil, err
	}
	if !found {
		return stateFromEnv()
	}
	runbookHere := &dsl.Config{Dir: ".", Runbook: &dsl.RunbookBlock{Backend: b}}
	sc, diags := stateForRunbook(runbookHere, "")
	if err := ss.report(diags); err != nil {
		return nil, err
	}
	warnIgnoredEnv(ss.err, sc)
	return sc, nil
}

func stateFromEnv() (*stateConfig, error) {
	switch kind := os.Getenv(envBackend); kind {
	case "", dsl.BackendLocal:
		return localState(".runbook"), nil
	case dsl.BackendPostgres:
		c := postgres.Config{ConnString: os.Getenv(envConnStr), SchemaName: os.Getenv(envSchema), Workspace: os.Getenv(envWorkspace)}
		if c.ConnString == "" {
			return nil, fmt.Errorf("%s=postgres needs the connection string in %s", envBackend, envConnStr)
		}
		return &stateConfig{kind: dsl.BackendPostgres, pg: c, keyDir: ".runbook"}, nil
	default:
		return nil, fmt.Errorf("%s=%q: the state backends are %q and %q", envBackend, kind, dsl.BackendLocal, dsl.BackendPostgres)
	}
}

// warnIgnoredEnv says when RUNBOOK_BACKEND asks for another backend than
// the runbook's: the operator may believe their runs are shared.
func warnIgnoredEnv(w io.Writer, sc *stateConfig) {
	if env := os.Getenv(envBackend); env != "" && env != sc.kind {
		fmt.Fprintf(w, "Warning: %s=%s is ignored: the runbook keeps its state in a %s backend "+
			"(its backend block decides; %s is for commands run where there is no runbook).\n",
			envBackend, env, sc.kind, envBackend)
	}
}

// open returns the backend. Its Create and Open fail at once when the
// state is locked; lockWaiter adds the waiting.
func (sc *stateConfig) open(ctx context.Context) (state.Backend, error) {
	if sc.kind == dsl.BackendLocal {
		b, err := local.New(sc.dir)
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	b, err := postgres.New(ctx, sc.pg)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// sealer returns the journal key's sealer; create makes a key on first
// use (apply), otherwise a missing key leaves sealed values sealed (nil).
func (sc *stateConfig) sealer(create bool) (*runbook.Sealer, error) {
	load := runbook.ReadKey
	if create {
		load = runbook.LoadKey
	}
	k, err := load(sc.keyDir)
	switch {
	case err != nil && sc.kind == dsl.BackendLocal:
		return nil, fmt.Errorf("state directory %s: %w", sc.keyDir, err)
	case err != nil:
		return nil, fmt.Errorf("journal key directory %s: %w", sc.keyDir, err)
	case k == nil:
		return nil, nil
	}
	return runbook.NewSealer(k)
}

// openReadOnly opens the state for commands that only read history: it
// creates nothing.
func (sc *stateConfig) openReadOnly(ctx context.Context) (state.Backend, *runbook.Sealer, error) {
	b, err := sc.open(ctx)
	if err != nil {
		return nil, nil, err
	}
	sealer, err := sc.sealer(false)
	if err != nil {
		_ = b.Close()
		return nil, nil, err
	}
	return b, sealer, nil
}

// keyWarning is what an apply on a shared journal prints once it holds
// the lock, when RUNBOOK_JOURNAL_KEY is unset: its sensitive values are
// sealed with a key file only this machine has. A resume that finds no
// key file here says instead that it needs the other machine's. Call it
// before sealer creates the file.
func (sc *stateConfig) keyWarning(resume bool) string {
	if sc.kind != dsl.BackendPostgres || os.Getenv(runbook.KeyEnv) != "" {
		return ""
	}
	path := filepath.Join(sc.keyDir, "journal.key")
	if _, err := os.Stat(path); resume && errors.Is(err, fs.ErrNotExist) {
		return fmt.Sprintf("Warning: there was no journal key here, so %s was created; sensitive values the run "+
			"recorded on another machine can only be read with that machine's key: set %s to it.", path, runbook.KeyEnv)
	}
	return fmt.Sprintf("Warning: sensitive values in the shared journal are sealed with the key in %s; "+
		"to resume this run from another machine, set %s there to that file's contents.", path, runbook.KeyEnv)
}

// explainLocked tells a refused operator how to wait, and, for a holder
// that may be gone for good, how to free the lock.
func explainLocked(err error) error {
	if !errors.Is(err, state.ErrLocked) {
		return err
	}
	var le *postgres.LockedError
	if errors.As(err, &le) && le.Holder != nil {
		return fmt.Errorf("%w\nTo wait for it, use -lock-timeout DURATION. If its process is gone for good "+
			"(its machine died with the connection open), free the lock with: runbook force-unlock %s", err, le.Holder.ID)
	}
	return fmt.Errorf("%w\nTo wait for it, use -lock-timeout DURATION", err)
}

// lockWaiter gives apply what it asks of every backend: waiting for a
// held lock (-lock-timeout), saying once whom it waits for, and hearing
// when the lock is taken, with its ID if the backend has one (for
// force-unlock). The waiting is done here, not by the postgres backend's
// own LockTimeout, so that the operator learns at once who holds the
// state, whatever the backend.
type lockWaiter struct {
	state.Backend
	wait time.Duration
	// say tells the operator a line. Create and Open come before the run's
	// first event, so no live view is drawing yet (see lateView).
	say      func(line string)
	acquired func(lockID string) // nil: nobody asked
}

// How often a waiting apply asks for the lock again: from lockPollMin,
// doubling up to lockPollMax.
const (
	lockPollMin = 50 * time.Millisecond
	lockPollMax = time.Second
)

func (b *lockWaiter) Create(ctx context.Context, info *state.RunInfo) (state.Journal, error) {
	var j state.Journal
	err := b.retry(ctx, func() (err error) {
		j, err = b.Backend.Create(ctx, info)
		return err
	})
	b.announce(j)
	return j, err
}

func (b *lockWaiter) Open(ctx context.Context, runID string) (state.Journal, []state.Record, error) {
	var j state.Journal
	var recs []state.Record
	err := b.retry(ctx, func() (err error) {
		j, recs, err = b.Backend.Open(ctx, runID)
		return err
	})
	b.announce(j)
	return j, recs, err
}

func (b *lockWaiter) retry(ctx context.Context, try func() error) error {
	deadline := time.Now().Add(b.wait)
	for delay := lockPollMin; ; delay = min(2*delay, lockPollMax) {
		err := try()
		left := time.Until(deadline)
		if !errors.Is(err, state.ErrLocked) || left <= 0 {
			return err
		}
		if delay == lockPollMin {
			b.say(fmt.Sprintf("Waiting up to %s for the state lock: %v", b.wait, err))
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for the state lock: %w", ctx.Err())
		case <-time.After(min(delay, left)):
		}
	}
}

func (b *lockWaiter) announce(j state.Journal) {
	if j == nil || b.acquired == nil {
		return
	}
	id := ""
	if l, ok := j.(interface{ LockID() string }); ok {
		id = l.LockID()
	}
	b.acquired(id)
}
