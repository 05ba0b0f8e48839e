package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/state"
)

func TestStateForRunbook(t *testing.T) {
	pg := func(args map[string]string) *dsl.Config {
		return &dsl.Config{Dir: "rb", Runbook: &dsl.RunbookBlock{Backend: &dsl.Backend{Type: dsl.BackendPostgres, Args: args}}}
	}
	t.Setenv(envConnStr, "")
	t.Setenv(envSchema, "envschema")
	t.Setenv(envWorkspace, "envws")

	sc, diags := stateForRunbook(pg(map[string]string{"conn_str": "host=a", "workspace": "blockws"}), "")
	if diags.HasErrors() || sc.pg.ConnString != "host=a" || sc.pg.SchemaName != "envschema" || sc.pg.Workspace != "blockws" {
		t.Fatalf("block with env defaults: %+v %v", sc, diags)
	}
	if sc.keyDir != filepath.Join("rb", ".runbook") {
		t.Errorf("key dir = %q, want .runbook beside the runbook", sc.keyDir)
	}
	t.Setenv(envConnStr, "host=b")
	if sc, _ := stateForRunbook(pg(map[string]string{"conn_str": "host=a"}), ""); sc.pg.ConnString != "host=b" {
		t.Errorf("%s did not override conn_str: %q", envConnStr, sc.pg.ConnString)
	}
	if _, diags := stateForRunbook(pg(nil), "dir"); !diags.HasErrors() {
		t.Error("--state-dir with a postgres backend was accepted")
	}
	t.Setenv(envConnStr, "")
	if _, diags := stateForRunbook(pg(nil), ""); !diags.HasErrors() || !strings.Contains(diags[0].Detail, envConnStr) {
		t.Errorf("no connection string: %v", diags)
	}

	local := &dsl.Config{Dir: "rb", Runbook: &dsl.RunbookBlock{Backend: &dsl.Backend{Type: dsl.BackendLocal, Args: map[string]string{"path": "st"}}}}
	for flag, want := range map[string]string{"": filepath.Join("rb", "st"), "flag": "flag"} {
		if sc, _ := stateForRunbook(local, flag); sc.kind != dsl.BackendLocal || sc.dir != want || sc.keyDir != want {
			t.Errorf("local backend with --state-dir %q: %+v, want %s", flag, sc, want)
		}
	}
	if sc, _ := stateForRunbook(&dsl.Config{Dir: "rb"}, ""); sc.dir != filepath.Join("rb", ".runbook") {
		t.Errorf("no backend block: %+v", sc)
	}
}

// lockedBackend refuses its first n Creates as locked.
type lockedBackend struct {
	state.Backend
	n, calls int
}

type lockedJournal struct{ state.Journal }

func (lockedJournal) LockID() string { return "the-lock" }

func (b *lockedBackend) Create(context.Context, *state.RunInfo) (state.Journal, error) {
	if b.calls++; b.calls <= b.n {
		return nil, fmt.Errorf("held by run R: %w", state.ErrLocked)
	}
	return lockedJournal{}, nil
}

func TestLockWaiter(t *testing.T) {
	var log bytes.Buffer
	var acquired []string
	b := &lockedBackend{n: 3}
	say := func(line string) { fmt.Fprintln(&log, line) }
	w := &lockWaiter{Backend: b, wait: 1 << 40, say: say, acquired: func(id string) { acquired = append(acquired, id) }}
	if _, err := w.Create(t.Context(), nil); err != nil {
		t.Fatal(err)
	}
	if b.calls != 4 || strings.Count(log.String(), "Waiting") != 1 || !strings.Contains(log.String(), "held by run R") {
		t.Errorf("%d calls, log %q; want 4 calls and one message naming the holder", b.calls, log.String())
	}
	if len(acquired) != 1 || acquired[0] != "the-lock" {
		t.Errorf("acquired = %q", acquired)
	}

	b, log = &lockedBackend{n: 1}, bytes.Buffer{}
	w = &lockWaiter{Backend: b, say: say}
	if _, err := w.Create(t.Context(), nil); !errors.Is(err, state.ErrLocked) || b.calls != 1 || log.Len() > 0 {
		t.Errorf("without -lock-timeout: %v after %d calls, log %q", err, b.calls, log.String())
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	w = &lockWaiter{Backend: &lockedBackend{n: 1}, wait: 1 << 40, say: say}
	if _, err := w.Create(ctx, nil); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled while waiting: %v", err)
	}
}

func TestExplainLocked(t *testing.T) {
	err := explainLocked(fmt.Errorf("state dir x is in use by run R: %w", state.ErrLocked))
	if !errors.Is(err, state.ErrLocked) || !strings.Contains(err.Error(), "-lock-timeout") || strings.Contains(err.Error(), "force-unlock") {
		t.Errorf("local: %v", err)
	}
	other := errors.New("disk full")
	if explainLocked(other) != other {
		t.Error("an error that is not a lock was changed")
	}
}
