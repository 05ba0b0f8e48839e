package core

import (
	"net/url"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// redacted replaces a sensitive value in messages.
const redacted = "(sensitive)"

// redactor removes sensitive input values from error messages and log
// lines. It collects every string (and number) at or below the request's
// sensitive paths, and below any marked value, then replaces each
// occurrence of them, longest first.
type redactor struct {
	secrets  []string
	replacer *strings.Replacer
}

func newRedactor(inputs cty.Value, paths []cty.Path) *redactor {
	unmarked, marked := inputs.UnmarkDeepWithPaths()
	all := append([]cty.Path(nil), paths...)
	for _, pm := range marked {
		all = append(all, pm.Path)
	}
	seen := map[string]bool{}
	r := &redactor{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			r.secrets = append(r.secrets, s)
		}
	}
	for _, path := range all {
		v, err := path.Apply(unmarked)
		if err != nil {
			continue
		}
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
			}
			add(s)
			// A URL is printed re-encoded, or with its password masked:
			// redact those spellings too.
			if strings.Contains(s, "://") {
				if u, err := url.Parse(strings.TrimSpace(s)); err == nil {
					add(u.String())
					add(u.Redacted())
				}
			}
			return true, nil
		})
	}
	if len(r.secrets) == 0 {
		return r
	}
	// Longest first, so that a secret containing another is replaced whole:
	// strings.Replacer tries the pairs in argument order at each position.
	sort.Slice(r.secrets, func(i, j int) bool {
		if len(r.secrets[i]) != len(r.secrets[j]) {
			return len(r.secrets[i]) > len(r.secrets[j])
		}
		return r.secrets[i] < r.secrets[j]
	})
	pairs := make([]string, 0, 2*len(r.secrets))
	for _, s := range r.secrets {
		pairs = append(pairs, s, redacted)
	}
	r.replacer = strings.NewReplacer(pairs...)
	return r
}

func (r *redactor) empty() bool { return r == nil || r.replacer == nil }

// redact returns s with every sensitive value replaced by "(sensitive)".
func (r *redactor) redact(s string) string {
	if r.empty() {
		return s
	}
	return r.replacer.Replace(s)
}

// redactAll redacts each element of ss.
func (r *redactor) redactAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = r.redact(s)
	}
	return out
}
