package runbook

import (
	"encoding/json"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/internal/state"
)

// minSecretLen keeps short values ("1", "yes") from being redacted all
// over unrelated text.
const minSecretLen = 4

// secrets knows the sensitive strings of a run (sensitive variables, and
// sensitive inputs and outputs as steps use them) and removes them from
// every message before it is logged, emitted or journaled: a command given
// a password may print it in its error output.
type secrets struct {
	mu   sync.RWMutex
	list []string
}

// add records every string inside v that carries the sensitive mark (all
// of v when v itself is marked).
func (s *secrets) add(v cty.Value) {
	var found []string
	_ = cty.Walk(v, func(_ cty.Path, x cty.Value) (bool, error) {
		raw, marks := x.Unmark()
		if len(marks) == 0 && !v.IsMarked() {
			return true, nil
		}
		if raw.IsKnown() && !raw.IsNull() && raw.Type() == cty.String && len(raw.AsString()) >= minSecretLen {
			found = append(found, escapedForms(raw.AsString())...)
		}
		return true, nil
	})
	if len(found) == 0 {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, found...)
	// Longest first, so that a secret containing another is removed whole.
	sort.Slice(s.list, func(i, j int) bool { return len(s.list[i]) > len(s.list[j]) })
}

// escapedForms returns secret and the forms it takes inside a quoted
// string when it holds characters that quoting escapes: Go's %q and
// strconv.Quote (what go-cty's function errors use: tonumber quotes its
// argument) and JSON (a response body or a payload quoted in an error).
func escapedForms(secret string) []string {
	out := []string{secret}
	q := strconv.Quote(secret)
	if q = q[1 : len(q)-1]; q != secret {
		out = append(out, q)
	}
	if b, err := json.Marshal(secret); err == nil {
		if j := string(b[1 : len(b)-1]); j != secret && j != q {
			out = append(out, j)
		}
	}
	return out
}

// scrub replaces every known secret in msg with (sensitive).
func (s *secrets) scrub(msg string) string {
	if msg == "" {
		return msg
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, secret := range s.list {
		msg = strings.ReplaceAll(msg, secret, Sensitive)
	}
	return msg
}

// scrubDiagnostics removes the sensitive strings of vars from the
// messages of diags, which the CLI prints as they are: a function that
// fails on a sensitive argument quotes it in its error (tonumber,
// base64decode, parseint, file, ...).
func scrubDiagnostics(vars map[string]cty.Value, diags hcl.Diagnostics) hcl.Diagnostics {
	var s secrets
	for _, v := range vars {
		s.add(v)
	}
	return s.scrubDiagnostics(diags)
}

// scrubDiagnostics removes every known secret from the messages of diags.
func (s *secrets) scrubDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	for _, d := range diags {
		d.Summary, d.Detail = s.scrub(d.Summary), s.scrub(d.Detail)
	}
	return diags
}

func (s *secrets) scrubRecords(recs []*state.Record) {
	for _, r := range recs {
		r.Message = s.scrub(r.Message)
	}
}
