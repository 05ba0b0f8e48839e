package host

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	stdlog "log"
	"slices"
	"strings"
	"sync"

	"github.com/charmbracelet/log"
	"github.com/hashicorp/go-hclog"
)

// hclogAdapter is the hclog.Logger go-plugin logs through: every line,
// go-plugin's own and the plugin's (its stderr, parsed by go-plugin),
// goes to our charmbracelet logger at debug level. When the logger does
// not show debug lines it reports hclog.Off, so that go-plugin skips
// parsing the plugin's log lines at all.
type hclogAdapter struct {
	l    *log.Logger // nil discards
	name string
	args []any
	// exit receives the error go-plugin logs when the process ends
	// ("exit status 3"), for the crash message.
	exit func(string)
}

var _ hclog.Logger = (*hclogAdapter)(nil)

func (a *hclogAdapter) enabled() bool { return a.l != nil && a.l.GetLevel() <= log.DebugLevel }

func (a *hclogAdapter) Log(level hclog.Level, msg string, args ...any) {
	if a.exit != nil && msg == "plugin process exited" {
		for i := 0; i+1 < len(args); i += 2 {
			if args[i] == "error" {
				a.exit(fmt.Sprint(args[i+1]))
			}
		}
	}
	if level < hclog.Debug || !a.enabled() {
		return
	}
	kv := append(append([]any{"provider", a.name}, a.args...), args...)
	if level >= hclog.Warn {
		kv = append(kv, "level", strings.ToLower(level.String()))
	}
	a.l.Debug(msg, kv...)
}

func (a *hclogAdapter) Trace(msg string, args ...any) { a.Log(hclog.Trace, msg, args...) }
func (a *hclogAdapter) Debug(msg string, args ...any) { a.Log(hclog.Debug, msg, args...) }
func (a *hclogAdapter) Info(msg string, args ...any)  { a.Log(hclog.Info, msg, args...) }
func (a *hclogAdapter) Warn(msg string, args ...any)  { a.Log(hclog.Warn, msg, args...) }
func (a *hclogAdapter) Error(msg string, args ...any) { a.Log(hclog.Error, msg, args...) }
func (a *hclogAdapter) IsTrace() bool                 { return false }
func (a *hclogAdapter) IsDebug() bool                 { return a.enabled() }
func (a *hclogAdapter) IsInfo() bool                  { return a.enabled() }
func (a *hclogAdapter) IsWarn() bool                  { return a.enabled() }
func (a *hclogAdapter) IsError() bool                 { return a.enabled() }
func (a *hclogAdapter) ImpliedArgs() []any            { return a.args }
func (a *hclogAdapter) Name() string                  { return a.name }
func (a *hclogAdapter) SetLevel(hclog.Level)          {}

func (a *hclogAdapter) GetLevel() hclog.Level {
	if a.enabled() {
		return hclog.Debug
	}
	return hclog.Off
}

func (a *hclogAdapter) With(args ...any) hclog.Logger {
	c := *a
	c.args = append(append([]any(nil), a.args...), args...)
	return &c
}

func (a *hclogAdapter) Named(name string) hclog.Logger {
	c := *a
	if c.name != "" {
		name = c.name + "." + name
	}
	c.name = name
	return &c
}

func (a *hclogAdapter) ResetNamed(name string) hclog.Logger {
	c := *a
	c.name = name
	return &c
}

func (a *hclogAdapter) StandardLogger(opts *hclog.StandardLoggerOptions) *stdlog.Logger {
	return stdlog.New(a.StandardWriter(opts), "", 0)
}

func (a *hclogAdapter) StandardWriter(*hclog.StandardLoggerOptions) io.Writer {
	return &lineWriter{line: func(s string) { a.Debug(s) }}
}

// lineWriter calls line for every complete line written to it.
type lineWriter struct {
	mu   sync.Mutex
	buf  []byte
	line func(string)
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		w.line(strings.TrimRight(string(w.buf[:i]), "\r"))
		w.buf = w.buf[i+1:]
	}
	if len(w.buf) > 64<<10 { // a runaway line without newline
		w.line(string(w.buf))
		w.buf = nil
	}
	return len(p), nil
}

// ring keeps the last lines a plugin wrote to stderr, for the message of
// a crash.
type ring struct {
	mu    sync.Mutex
	lines []string
	next  int
	full  bool
}

const stderrLines = 20

func newRing() *ring { return &ring{lines: make([]string, stderrLines)} }

func (r *ring) add(line string) {
	line, ok := renderLogLine(line)
	if !ok || strings.TrimSpace(line) == "" {
		return
	}
	r.mu.Lock()
	r.lines[r.next] = line
	r.next = (r.next + 1) % len(r.lines)
	if r.next == 0 {
		r.full = true
	}
	r.mu.Unlock()
}

// last returns the kept lines, oldest first.
func (r *ring) last() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return append([]string(nil), r.lines[:r.next]...)
	}
	return append(append([]string(nil), r.lines[r.next:]...), r.lines[:r.next]...)
}

// renderLogLine turns an hclog JSON line (what plugins, and go-plugin
// inside them, log through hclog) into "level: message key=value"; other
// lines are kept as they are. Trace and debug entries are dropped (ok is
// false): they are go-plugin's chatter, noise in a crash message.
func renderLogLine(line string) (string, bool) {
	if !strings.HasPrefix(line, "{") {
		return line, true
	}
	var entry map[string]any
	if json.Unmarshal([]byte(line), &entry) != nil {
		return line, true
	}
	msg, ok := entry["@message"].(string)
	if !ok {
		return line, true
	}
	lvl, _ := entry["@level"].(string)
	if lvl == "trace" || lvl == "debug" {
		return "", false
	}
	var b strings.Builder
	if lvl != "" {
		b.WriteString(lvl + ": ")
	}
	b.WriteString(msg)
	keys := make([]string, 0, len(entry))
	for k := range entry {
		if !strings.HasPrefix(k, "@") && k != "timestamp" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, entry[k])
	}
	return b.String(), true
}
