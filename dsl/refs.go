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

// BodyTraversals returns every variable traversal in a body that has no
// hidden parts (a nested block, a whole file's body).
func BodyTraversals(body hcl.Body) []hcl.Traversal {
	return remainTraversals(body, body, nil)
}

// remainTraversals returns the traversals of rest, the remainder of full
// once the attributes and blocks of meta were taken out by PartialContent.
// Native syntax bodies are walked directly (skipping meta's names, which
// the remainder hides); other bodies are read as plain attributes.
func remainTraversals(full, rest hcl.Body, meta *hcl.BodySchema) []hcl.Traversal {
	sb, ok := full.(*hclsyntax.Body)
	if !ok {
		attrs, _ := rest.JustAttributes()
		var out []hcl.Traversal
		for _, name := range sortedAttrNames(attrs) {
			out = append(out, attrs[name].Expr.Variables()...)
		}
		return out
	}
	skip := map[string]bool{}
	if meta != nil {
		for _, a := range meta.Attributes {
			skip[a.Name] = true
		}
		for _, b := range meta.Blocks {
			skip[b.Type] = true
		}
	}
	var out []hcl.Traversal
	for _, name := range sortedSyntaxAttrs(sb) {
		if !skip[name] {
			out = append(out, sb.Attributes[name].Expr.Variables()...)
		}
	}
	for _, blk := range sb.Blocks {
		if !skip[blk.Type] {
			out = append(out, syntaxTraversals(blk.Body)...)
		}
	}
	return out
}

func sortedSyntaxAttrs(b *hclsyntax.Body) []string {
	names := make([]string, 0, len(b.Attributes))
	for n := range b.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func syntaxTraversals(sb *hclsyntax.Body) []hcl.Traversal {
	var out []hcl.Traversal
	walkSyntaxBody(sb, func(e hclsyntax.Expression) { out = append(out, e.Variables()...) })
	return out
}

func walkSyntaxBody(b *hclsyntax.Body, fn func(hclsyntax.Expression)) {
	for _, n := range sortedSyntaxAttrs(b) {
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
