package dsl

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// RefKind says what a reference in an expression points at.
type RefKind int

// The kinds of reference an expression may hold.
const (
	RefVar    RefKind = iota // var.NAME
	RefLocal                 // local.NAME
	RefStep                  // step.NAME, step.NAME["key"].out
	RefModule                // module.NAME.OUTPUT
	RefEach                  // each.key, each.value
	RefSelf                  // self.OUTPUT, in postconditions
	RefPath                  // path.module, path.root, path.cwd
	RefRun                   // run.id, run.status
)

var refRoots = map[string]RefKind{
	"var": RefVar, "local": RefLocal, "step": RefStep, "module": RefModule,
	"each": RefEach, "self": RefSelf, "path": RefPath, "run": RefRun,
}

// Ref is one parsed reference.
type Ref struct {
	Kind RefKind
	// Name is the variable, local, step or module name; for each, path and
	// run it is the attribute (key, value, module, id, ...); for self it is
	// empty.
	Name string
	// Output is the module output a module reference reads, "" for a bare
	// `module.NAME` (allowed only in depends_on).
	Output string
	Range  hcl.Range
}

// String renders the reference's address, such as step.backup.
func (r *Ref) String() string {
	switch r.Kind {
	case RefSelf:
		return "self"
	case RefModule:
		if r.Output != "" {
			return "module." + r.Name + "." + r.Output
		}
		return "module." + r.Name
	}
	for root, k := range refRoots {
		if k == r.Kind {
			return root + "." + r.Name
		}
	}
	return r.Name
}

// ParseRef interprets a traversal found in an expression.
func ParseRef(t hcl.Traversal) (*Ref, hcl.Diagnostics) {
	kind, ok := refRoots[t.RootName()]
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown reference",
			Detail: fmt.Sprintf("There is nothing named %q. A reference starts with var., local., step., module., each., path. or run.; "+
				"a string needs quotes.", t.RootName()),
			Subject: t.SourceRange().Ptr(),
		}}
	}
	ref := &Ref{Kind: kind, Range: t.SourceRange()}
	if kind == RefSelf {
		return ref, nil
	}
	name, ok := attrName(t, 1)
	if !ok {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid reference",
			Detail:   fmt.Sprintf("A reference to %s must name an attribute, as in %s.NAME.", t.RootName(), t.RootName()),
			Subject:  t.SourceRange().Ptr(),
		}}
	}
	ref.Name = name
	if kind == RefModule {
		ref.Output, _ = attrName(t, 2)
	}
	return ref, nil
}

func attrName(t hcl.Traversal, i int) (string, bool) {
	if len(t) <= i {
		return "", false
	}
	a, ok := t[i].(hcl.TraverseAttr)
	if !ok {
		return "", false
	}
	return a.Name, true
}

// BodyTraversals returns every variable traversal in a body. With a schema
// the body is read through it; without one (an unknown action) every
// attribute and nested block is visited.
func BodyTraversals(body hcl.Body, schema *BlockSchema) []hcl.Traversal {
	if schema != nil {
		return schema.Variables(body)
	}
	if sb, ok := body.(*hclsyntax.Body); ok {
		var out []hcl.Traversal
		walkSyntaxBody(sb, func(e hclsyntax.Expression) { out = append(out, e.Variables()...) })
		return out
	}
	attrs, _ := body.JustAttributes()
	var out []hcl.Traversal
	for _, name := range sortedAttrNames(attrs) {
		out = append(out, attrs[name].Expr.Variables()...)
	}
	return out
}

func walkSyntaxBody(b *hclsyntax.Body, fn func(hclsyntax.Expression)) {
	names := make([]string, 0, len(b.Attributes))
	for n := range b.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fn(b.Attributes[n].Expr)
	}
	for _, blk := range b.Blocks {
		walkSyntaxBody(blk.Body, fn)
	}
}

func sortedAttrNames(attrs hcl.Attributes) []string {
	names := make([]string, 0, len(attrs))
	for n := range attrs {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := attrs[names[i]].Range, attrs[names[j]].Range
		if a.Filename != b.Filename {
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return names
}

// ExprTraversals returns the traversals of a possibly-nil expression.
func ExprTraversals(e hcl.Expression) []hcl.Traversal {
	if e == nil {
		return nil
	}
	return e.Variables()
}
