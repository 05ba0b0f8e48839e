package core

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
)

// redactor removes sensitive input values from error messages and log
// lines (provider.Redactor).
type redactor = provider.Redactor

func newRedactor(inputs cty.Value, paths []cty.Path) *redactor {
	return provider.NewRedactor(inputs, paths)
}

// redactAll redacts each element of ss.
func redactAll(r *redactor, ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = r.Redact(s)
	}
	return out
}
