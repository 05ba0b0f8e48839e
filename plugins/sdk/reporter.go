package sdk

import (
	"sync"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
)

// Level is a log line's severity.
type Level string

// The levels a Reporter takes; anything else is logged as LevelInfo.
const (
	LevelDebug Level = "debug"
	LevelInfo  Level = "info"
	LevelWarn  Level = "warn"
	LevelError Level = "error"
)

// Reporter sends an Apply's log lines and progress to the engine, which
// shows them to the operator and records them. It is safe for concurrent
// use, and does nothing once Apply has returned. Every sensitive input
// value in a message reads "(sensitive)".
type Reporter interface {
	// Log sends a log line.
	Log(level Level, msg string)
	// Progress says done out of total units ("bytes", "items") are
	// complete; total is 0 when unknown.
	Progress(done, total int64, unit string)
}

// Redacted is what a sensitive value reads in log lines and errors.
const Redacted = provider.Redacted

type reporter struct {
	mu     sync.Mutex
	events func(provider.Event)
	red    *redactor
}

func newReporter(events func(provider.Event), red *redactor) *reporter {
	return &reporter{events: events, red: red}
}

func (r *reporter) Log(level Level, msg string) {
	switch level {
	case LevelDebug, LevelInfo, LevelWarn, LevelError:
	default:
		level = LevelInfo
	}
	r.send(provider.Event{Kind: provider.EventLog, Level: string(level), Message: r.red.Redact(msg)})
}

func (r *reporter) Progress(done, total int64, unit string) {
	r.send(provider.Event{Kind: provider.EventProgress, Done: done, Total: total, Unit: r.red.Redact(unit)})
}

func (r *reporter) send(ev provider.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.events != nil {
		r.events(ev)
	}
}

// close stops the reporter: a goroutine the action left behind must not
// report on a finished call (over gRPC, on a closed stream).
func (r *reporter) close() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = nil
}

// redactor replaces sensitive values in messages: the request's sensitive
// paths and marks (provider.Redactor), plus every attribute the schema
// declares sensitive.
type redactor = provider.Redactor

func newRedactor(v cty.Value, paths []cty.Path, si *structInfo) *redactor {
	var extra []cty.Value
	if si != nil {
		unmarked, _ := v.UnmarkDeep()
		si.sensitiveValues(unmarked, func(sv cty.Value) { extra = append(extra, sv) })
	}
	return provider.NewRedactor(v, paths, extra...)
}

// sensitiveValues calls collect with the value of every attribute si
// declares sensitive, at any depth of nested blocks and objects.
func (si *structInfo) sensitiveValues(v cty.Value, collect func(cty.Value)) {
	if !v.IsKnown() || v.IsNull() || !v.Type().IsObjectType() {
		return
	}
	for _, f := range si.fields {
		if !v.Type().HasAttribute(f.name) {
			continue
		}
		av := v.GetAttr(f.name)
		switch {
		case f.sensitive:
			collect(av)
		case f.nested == nil || !av.IsKnown() || av.IsNull():
		case av.Type().IsObjectType():
			f.nested.sensitiveValues(av, collect)
		case av.CanIterateElements():
			for it := av.ElementIterator(); it.Next(); {
				_, ev := it.Element()
				f.nested.sensitiveValues(ev, collect)
			}
		}
	}
}
