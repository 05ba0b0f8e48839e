package dsl

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// The state backends a `backend` block may name.
const (
	BackendLocal    = "local"
	BackendPostgres = "postgres"
)

// backendArgs lists each backend's arguments, in the order the docs and
// diagnostics give them.
var backendArgs = map[string][]string{
	BackendLocal:    {"path"},
	BackendPostgres: {"conn_str", "schema_name", "workspace"},
}

// Backend is the `backend "TYPE" { ... }` block of the root runbook's
// runbook block: where runs are journaled. Its arguments are literal
// strings, kept as written ("" when absent); what the environment adds is
// the command line's business.
type Backend struct {
	Type string // BackendLocal or BackendPostgres
	// Args maps each argument given to its value.
	Args      map[string]string
	ArgRanges map[string]hcl.Range
	DeclRange hcl.Range
}

// Arg returns an argument's value, "" when it is absent.
func (b *Backend) Arg(name string) string { return b.Args[name] }

var runbookOnly = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "runbook", LabelNames: []string{"name"}}}}

// LoadBackend reads the root runbook at path only as far as its backend
// block, for commands that have no runbook to run but must find its state
// (runs, output, force-unlock in a runbook's directory). found is false
// when path holds no runbook block: stray .hcl files of another tool do
// not make a runbook. backend is nil when the runbook has no backend
// block.
func (l *Loader) LoadBackend(path string) (backend *Backend, found bool, diags hcl.Diagnostics) {
	files, dir, fdiags := runbookFiles(path, hcl.Range{})
	if fdiags.HasErrors() {
		return nil, false, nil
	}
	cfg := newConfig(dir, nil)
	for _, name := range files {
		f, pdiags := l.parseFile(name)
		diags = append(diags, pdiags...)
		if f == nil {
			continue
		}
		content, _, _ := f.Body.PartialContent(runbookOnly)
		for _, block := range content.Blocks {
			diags = append(diags, cfg.addRunbook(block)...)
		}
	}
	if cfg.Runbook == nil {
		return nil, false, diags
	}
	return cfg.Runbook.Backend, true, diags
}

func (rb *RunbookBlock) addBackend(block *hcl.Block, module bool) hcl.Diagnostics {
	if rb.Backend != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Duplicate backend block",
			Detail:   fmt.Sprintf("A runbook has at most one backend block; one was already declared at %s.", rb.Backend.DeclRange),
			Subject:  block.DefRange.Ptr(),
		}}
	}
	b, diags := decodeBackend(block)
	if module {
		// As Terraform does: a module runs inside its caller's run, whose
		// state the root runbook places.
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Backend configuration ignored",
			Detail:   "A module's backend block has no effect: a run's state is wherever the root runbook's backend block puts it.",
			Subject:  block.DefRange.Ptr(),
		})
	}
	rb.Backend = b
	return diags
}

func decodeBackend(block *hcl.Block) (*Backend, hcl.Diagnostics) {
	b := &Backend{Type: block.Labels[0], Args: map[string]string{}, ArgRanges: map[string]hcl.Range{}, DeclRange: block.DefRange}
	allowed, ok := backendArgs[b.Type]
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unsupported backend type",
			Detail:   fmt.Sprintf("There is no %q backend; the state backends are %q and %q.", b.Type, BackendLocal, BackendPostgres),
			Subject:  block.LabelRanges[0].Ptr(),
		}}
	}
	attrs, diags := block.Body.JustAttributes()
	for _, name := range sortedAttrNames(attrs) {
		diags = append(diags, b.addArg(attrs[name], allowed)...)
	}
	return b, diags
}

func (b *Backend) addArg(a *hcl.Attribute, allowed []string) hcl.Diagnostics {
	if !slices.Contains(allowed, a.Name) {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unsupported backend argument",
			Detail:   fmt.Sprintf("The %q backend has no argument named %q; it takes %s.", b.Type, a.Name, strings.Join(quoteAll(allowed), ", ")),
			Subject:  a.NameRange.Ptr(),
		}}
	}
	if refs := a.Expr.Variables(); len(refs) > 0 {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Variables not allowed",
			Detail: "A backend block is read before any variable, local or step is evaluated, so its arguments " +
				"must be literal values, as in Terraform's backend blocks. For a connection string that differs " +
				"between machines or holds a password, leave conn_str out and set RUNBOOK_BACKEND_CONN_STR.",
			Subject: refs[0].SourceRange().Ptr(),
		}}
	}
	var v string
	diags := literalString(a, &v)
	if !diags.HasErrors() && v != "" {
		b.Args[a.Name], b.ArgRanges[a.Name] = v, a.Expr.Range()
	}
	return diags
}

// StateDir is the local backend's state directory: its path, relative to
// the runbook's directory dir; "" when the block gives none.
func (b *Backend) StateDir(dir string) string {
	p := b.Arg("path")
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(dir, p)
}

func quoteAll(names []string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = fmt.Sprintf("%q", n)
	}
	return out
}
