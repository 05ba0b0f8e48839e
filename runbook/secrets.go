package runbook

import (
	"sort"
	"strings"
	"sync"

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
			found = append(found, raw.AsString())
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

func (s *secrets) scrubRecords(recs []*state.Record) {
	for _, r := range recs {
		r.Message = s.scrub(r.Message)
	}
}
