package local

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"time"

	"github.com/runbook-dev/runbook/internal/state"
)

// errWouldBlock is what tryLock returns when another holder has the lock.
var errWouldBlock = errors.New("lock is held")

// A List probing the lock holds it (shared) for a few microseconds, which
// would make a Create at that instant fail; a few short retries absorb
// that. A real holder keeps the lock for the whole run.
const (
	lockTries = 5
	lockDelay = 2 * time.Millisecond
)

// holder is written to lock.info by the lock's holder so that a refused
// run can say who has the state.
type holder struct {
	RunID   string    `json:"run_id"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Started time.Time `json:"started"`
}

// wsLock is the held workspace lock.
type wsLock struct {
	file io.Closer
	info string
}

// lock takes the workspace lock for runID without waiting.
func (b *Backend) lock(runID string) (*wsLock, error) {
	var f io.Closer
	var err error
	for try := 1; ; try++ {
		f, err = tryLock(b.lockPath())
		if !errors.Is(err, errWouldBlock) || try == lockTries {
			break
		}
		time.Sleep(lockDelay)
	}
	if errors.Is(err, errWouldBlock) {
		return nil, b.lockedErr()
	}
	if err != nil {
		return nil, b.dirErr(err)
	}
	host, _ := os.Hostname()
	info, _ := json.Marshal(holder{RunID: runID, Host: host, PID: os.Getpid(), Started: time.Now().UTC()})
	// Written by rename so that a refused run never reads half of it.
	if err := writeAtomic(b.infoPath(), info); err != nil {
		_ = f.Close()
		return nil, b.dirErr(err)
	}
	return &wsLock{file: f, info: b.infoPath()}, nil
}

// release removes lock.info and then unlocks: in that order, so that we
// never remove the next holder's lock.info.
func (l *wsLock) release() error {
	err := os.Remove(l.info)
	if errors.Is(err, fs.ErrNotExist) {
		err = nil
	}
	return errors.Join(err, l.file.Close())
}

func (b *Backend) lockedErr() error {
	h, err := b.holder()
	if err != nil {
		return fmt.Errorf("state dir %s is in use by another run (no holder recorded in lock.info): %w", b.dir, state.ErrLocked)
	}
	return fmt.Errorf("state dir %s is in use by run %s (host %s, pid %d, started %s): %w",
		b.dir, h.RunID, h.Host, h.PID, h.Started.Format(time.RFC3339), state.ErrLocked)
}

func (b *Backend) holder() (holder, error) {
	var h holder
	data, err := os.ReadFile(b.infoPath())
	if err == nil {
		err = json.Unmarshal(data, &h)
	}
	return h, err
}

// liveRun returns the ID of the run whose journal is open now, or "".
func (b *Backend) liveRun() string {
	held, err := isLocked(b.lockPath())
	if err != nil || !held {
		return ""
	}
	h, err := b.holder()
	if err != nil {
		return ""
	}
	return h.RunID
}
