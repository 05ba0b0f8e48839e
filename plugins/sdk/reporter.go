package sdk

import (
	"net/url"
	"sort"
	"strings"
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
const Redacted = "(sensitive)"

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
	r.send(provider.Event{Kind: provider.EventLog, Level: string(level), Message: r.red.redact(msg)})
}

func (r *reporter) Progress(done, total int64, unit string) {
	r.send(provider.Event{Kind: provider.EventProgress, Done: done, Total: total, Unit: r.red.redact(unit)})
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

// redactor replaces sensitive values in messages. It collects every string
// and number at or below the sensitive paths of a request, below marked
// values, and below attributes the schema declares sensitive, and replaces
// each occurrence, longest first.
type redactor struct {
	replacer *strings.Replacer
}

func newRedactor(v cty.Value, paths []cty.Path, si *structInfo) *redactor {
	unmarked, marked := v.UnmarkDeepWithPaths()
	var secrets []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			secrets = append(secrets, s)
		}
	}
	collect := func(v cty.Value) {
		_ = cty.Walk(v, func(_ cty.Path, v cty.Value) (bool, error) {
			if !v.IsKnown() || v.IsNull() {
				return true, nil
			}
			var s string
			switch v.Type() {
			case cty.String:
				s = v.AsString()
			case cty.Number:
				s = v.AsBigFloat().Text('f', -1)
			default:
				return true, nil
			}
			add(s)
			// A URL is often printed re-encoded or with its password
			// masked: redact those spellings too.
			if strings.Contains(s, "://") {
				if u, err := url.Parse(strings.TrimSpace(s)); err == nil {
					add(u.String())
					add(u.Redacted())
				}
			}
			return true, nil
		})
	}
	all := append([]cty.Path(nil), paths...)
	for _, pm := range marked {
		all = append(all, pm.Path)
	}
	for _, p := range all {
		if sv, err := p.Apply(unmarked); err == nil {
			collect(sv)
		}
	}
	if si != nil {
		si.sensitiveValues(unmarked, collect)
	}
	if len(secrets) == 0 {
		return &redactor{}
	}
	sort.Slice(secrets, func(i, j int) bool {
		if len(secrets[i]) != len(secrets[j]) {
			return len(secrets[i]) > len(secrets[j])
		}
		return secrets[i] < secrets[j]
	})
	pairs := make([]string, 0, 2*len(secrets))
	for _, s := range secrets {
		pairs = append(pairs, s, Redacted)
	}
	return &redactor{replacer: strings.NewReplacer(pairs...)}
}

func (r *redactor) redact(s string) string {
	if r == nil || r.replacer == nil {
		return s
	}
	return r.replacer.Replace(s)
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
