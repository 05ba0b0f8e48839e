package provider

import (
	"net/url"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// Redacted replaces a sensitive value in messages.
const Redacted = "(sensitive)"

// Redactor removes sensitive input values from a provider's error messages
// and log lines. It knows every string and number at or below the
// request's sensitive paths, below any marked value, and inside any extra
// value given, and replaces each occurrence, longest first.
type Redactor struct {
	replacer *strings.Replacer
}

// NewRedactor collects the secrets of inputs.
func NewRedactor(inputs cty.Value, paths []cty.Path, extra ...cty.Value) *Redactor {
	unmarked, marked := inputs.UnmarkDeepWithPaths()
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
		if v, err := p.Apply(unmarked); err == nil {
			collect(v)
		}
	}
	for _, v := range extra {
		collect(v)
	}
	if len(secrets) == 0 {
		return &Redactor{}
	}
	// Longest first, so that a secret containing another is replaced whole:
	// strings.Replacer tries the pairs in argument order at each position.
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
	return &Redactor{replacer: strings.NewReplacer(pairs...)}
}

// Empty reports whether there is nothing to redact.
func (r *Redactor) Empty() bool { return r == nil || r.replacer == nil }

// Redact returns s with every sensitive value replaced by Redacted.
func (r *Redactor) Redact(s string) string {
	if r.Empty() {
		return s
	}
	return r.replacer.Replace(s)
}
