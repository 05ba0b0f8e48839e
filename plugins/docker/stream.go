package docker

import (
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// progressEvery throttles byte progress: a few reports a second whatever
// the archive's size, plus the first and the last.
const progressEvery = 250 * time.Millisecond

// progress reports bytes streamed at most every progressEvery. The HTTP
// transport reads a request body in its own goroutine: it locks.
type progress struct {
	mu    sync.Mutex
	r     sdk.Reporter
	total int64
	done  int64
	last  time.Time
}

func newProgress(r sdk.Reporter, total int64) *progress {
	r.Progress(0, total, "bytes")
	return &progress{r: r, total: total, last: time.Now()}
}

func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += int64(len(b))
	if now := time.Now(); now.Sub(p.last) >= progressEvery {
		p.last = now
		p.report()
	}
	return len(b), nil
}

// finish reports the final count.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.report()
}

// report sends the count; an unknown total stays 0, a known one grows with
// a file that grew while it was read.
func (p *progress) report() {
	total := p.total
	if total > 0 {
		total = max(total, p.done)
	}
	p.r.Progress(p.done, total, "bytes")
}

// writeError marks a failure to write the local file, which a TeeReader
// would otherwise pass off as the daemon's stream failing.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }
func (e *writeError) Unwrap() error { return e.err }

type fileWriter struct{ w io.Writer }

func (f fileWriter) Write(b []byte) (int, error) {
	n, err := f.w.Write(b)
	if err != nil {
		err = &writeError{err: err}
	}
	return n, err
}

func fileMode(s string) (os.FileMode, error) {
	if s == "" {
		return 0o600, nil
	}
	var mode uint32
	if _, err := fmt.Sscanf(s, "%o", &mode); err != nil || mode > 0o777 || strings.TrimLeft(s, "01234567") != "" {
		return 0, sdk.AttributeError("mode", fmt.Errorf("mode %q is not an octal file mode such as \"0600\"", s))
	}
	return os.FileMode(mode), nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer func() { _ = d.Close() }() // a directory opened for its fsync
	return d.Sync()
}
