package dsl

import (
	"fmt"
	"os"
	"slices"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
)

// SensitiveMark marks a cty value that must never be shown or stored in
// clear. Values derived from a marked value carry the mark too (cty
// propagates marks through operations and function calls).
const SensitiveMark = "sensitive"

// StepValues supplies the current value of steps to expressions: for a
// finished step the object of its outputs (a map of such objects for a
// for_each step), an unknown value for a step that has not run yet.
type StepValues interface {
	StepValue(name string) cty.Value
}

// Extra carries the per-evaluation symbols: each.* inside for_each steps and
// self inside postconditions.
type Extra struct {
	Each *Each
	Self cty.Value // cty.NilVal when self is not available
}

// Each is the current for_each item.
type Each struct {
	Key   cty.Value
	Value cty.Value
}

// Scope evaluates the expressions of one Config: the root runbook or one
// module instance. It is safe for concurrent use.
type Scope struct {
	Config *Config
	// Vars holds the root's resolved variables. A module scope reads its
	// variables from the calling module block through Parent instead.
	Vars   map[string]cty.Value
	Parent *Scope
	Steps  StepValues
	// Run is the object behind run.id and run.status.
	Run      cty.Value
	RootDir  string
	Children map[string]*Scope

	funcs  map[string]function.Function
	mu     sync.Mutex
	locals map[string]*localEntry
}

// localEntry memoizes one local; its mutex makes concurrent readers wait
// for the one evaluating it rather than evaluate it twice.
type localEntry struct {
	mu    sync.Mutex
	val   cty.Value
	known bool
}

// NewScope prepares the scope of cfg and, recursively, of its modules.
func NewScope(cfg *Config, vars map[string]cty.Value, steps func(modPath []string) StepValues) *Scope {
	return newScope(cfg, vars, nil, steps, cfg.Dir)
}

func newScope(cfg *Config, vars map[string]cty.Value, parent *Scope, steps func([]string) StepValues, root string) *Scope {
	s := &Scope{
		Config: cfg, Vars: vars, Parent: parent, Steps: steps(cfg.Path), RootDir: root,
		Run:      cty.UnknownVal(cty.Object(map[string]cty.Type{"id": cty.String, "status": cty.String})),
		Children: map[string]*Scope{}, funcs: Functions(cfg.Dir),
		locals: map[string]*localEntry{},
	}
	for name, m := range cfg.Modules {
		if m.Config != nil {
			s.Children[name] = newScope(m.Config, nil, s, steps, root)
		}
	}
	return s
}

// Functions returns the scope's function table.
func (s *Scope) Functions() map[string]function.Function { return s.funcs }

// Eval evaluates expr and converts the result to want (cty.DynamicPseudoType
// to keep whatever type it has).
func (s *Scope) Eval(expr hcl.Expression, want cty.Type, extra *Extra) (cty.Value, hcl.Diagnostics) {
	return s.eval(expr, want, extra, nil)
}

// eval is Eval carrying the locals being evaluated on this call chain, so
// that a cycle among locals (which validation reports) ends instead of
// waiting on itself.
func (s *Scope) eval(expr hcl.Expression, want cty.Type, extra *Extra, chain []string) (cty.Value, hcl.Diagnostics) {
	ctx, diags := s.evalContext(expr.Variables(), extra, chain)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	val, vdiags := expr.Value(ctx)
	diags = append(diags, vdiags...)
	if vdiags.HasErrors() || want == cty.DynamicPseudoType {
		return val, diags
	}
	conv, err := convert.Convert(val, want)
	if err != nil {
		return cty.UnknownVal(want), append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Incorrect value type",
			Detail:      fmt.Sprintf("A value of type %s is required here: %s.", want.FriendlyName(), err),
			Subject:     expr.Range().Ptr(),
			Expression:  expr,
			EvalContext: ctx,
		})
	}
	return conv, diags
}

// DecodeBody evaluates an action's input body, whose references are refs,
// through its schema. Without a schema every attribute is evaluated and
// returned as an object.
func (s *Scope) DecodeBody(body hcl.Body, refs []hcl.Traversal, schema *BlockSchema, extra *Extra) (cty.Value, hcl.Diagnostics) {
	ctx, diags := s.EvalContext(refs, extra)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	if schema != nil {
		val, ddiags := schema.Decode(body, ctx)
		return val, append(diags, ddiags...)
	}
	attrs, adiags := schemalessAttributes(body)
	diags = append(diags, adiags...)
	vals := map[string]cty.Value{}
	for name, a := range attrs {
		v, vdiags := a.Expr.Value(ctx)
		diags = append(diags, vdiags...)
		vals[name] = v
	}
	return cty.ObjectVal(vals), diags
}

// StepInputs evaluates a step's inputs for its action. When the action
// declares an input named like a step meta-argument (core.wait's timeout),
// the meta-argument's value is given to the action as that input too.
func (s *Scope) StepInputs(step *Step, action *ActionSchema, extra *Extra) (cty.Value, hcl.Diagnostics) {
	var schema *BlockSchema
	if action != nil {
		schema = action.Inputs
	}
	val, diags := s.DecodeBody(step.Inputs, step.InputRefs, schema, extra)
	if diags.HasErrors() || schema == nil || step.Timeout == nil {
		return val, diags
	}
	in := schema.Attributes["timeout"]
	if in == nil {
		return val, diags
	}
	tv, tdiags := s.Eval(step.Timeout, in.Type, extra)
	diags = append(diags, tdiags...)
	attrs := val.AsValueMap()
	attrs["timeout"] = tv
	return cty.ObjectVal(attrs), diags
}

// TimeoutIsInput reports whether the step's timeout attribute is only the
// action's own input (a number of seconds, say) rather than also the
// duration that bounds each attempt.
func TimeoutIsInput(action *ActionSchema) bool {
	if action == nil || action.Inputs == nil {
		return false
	}
	in := action.Inputs.Attributes["timeout"]
	return in != nil && in.Type != cty.String
}

// schemalessAttributes reads the attributes of a body whose schema is not
// known. JustAttributes would reject the step's hidden meta blocks (retry,
// precondition), so native bodies are read through a schema of their own
// attribute names, which honours what PartialContent hid.
func schemalessAttributes(body hcl.Body) (hcl.Attributes, hcl.Diagnostics) {
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		return body.JustAttributes()
	}
	schema := &hcl.BodySchema{}
	for _, name := range sortedSyntaxAttrs(sb) {
		schema.Attributes = append(schema.Attributes, hcl.AttributeSchema{Name: name})
	}
	content, _, diags := body.PartialContent(schema)
	return content.Attributes, diags
}

// EvalContext builds the context for expressions holding travs; only the
// symbols they reference are computed.
func (s *Scope) EvalContext(travs []hcl.Traversal, extra *Extra) (*hcl.EvalContext, hcl.Diagnostics) {
	return s.evalContext(travs, extra, nil)
}

func (s *Scope) evalContext(travs []hcl.Traversal, extra *Extra, chain []string) (*hcl.EvalContext, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	groups := map[string]map[string]cty.Value{}
	put := func(root, name string, v cty.Value) {
		if groups[root] == nil {
			groups[root] = map[string]cty.Value{}
		}
		groups[root][name] = v
	}
	vars := map[string]cty.Value{}
	mods := map[string]map[string]cty.Value{}
	for _, t := range travs {
		ref, rdiags := ParseRef(t)
		if rdiags.HasErrors() {
			diags = append(diags, rdiags...)
			continue
		}
		switch ref.Kind {
		case RefVar:
			if v, ok := s.varValue(ref.Name); ok {
				put("var", ref.Name, v)
			}
		case RefLocal:
			v, ldiags := s.localValue(ref.Name, chain)
			diags = append(diags, ldiags...)
			put("local", ref.Name, v)
		case RefStep:
			if _, ok := s.Config.Steps[ref.Name]; ok {
				put("step", ref.Name, s.Steps.StepValue(ref.Name))
			}
		case RefModule:
			v, mdiags := s.moduleOutput(ref)
			diags = append(diags, mdiags...)
			if v != cty.NilVal {
				if mods[ref.Name] == nil {
					mods[ref.Name] = map[string]cty.Value{}
				}
				mods[ref.Name][ref.Output] = v
			}
		case RefEach:
			if extra != nil && extra.Each != nil {
				vars["each"] = cty.ObjectVal(map[string]cty.Value{"key": extra.Each.Key, "value": extra.Each.Value})
			}
		case RefSelf:
			if extra != nil && extra.Self != cty.NilVal {
				vars["self"] = extra.Self
			}
		case RefPath:
			vars["path"] = s.pathValue()
		case RefRun:
			vars["run"] = s.Run
		}
	}
	for name, outs := range mods {
		put("module", name, cty.ObjectVal(outs))
	}
	for root, m := range groups {
		vars[root] = cty.ObjectVal(m)
	}
	return &hcl.EvalContext{Variables: vars, Functions: s.funcs}, diags
}

func (s *Scope) pathValue() cty.Value {
	cwd, _ := os.Getwd()
	return cty.ObjectVal(map[string]cty.Value{
		"module": cty.StringVal(s.Config.Dir),
		"root":   cty.StringVal(s.RootDir),
		"cwd":    cty.StringVal(cwd),
	})
}

// varValue returns a variable's value: from Vars at the root, from the
// module call's inputs in a module.
func (s *Scope) varValue(name string) (cty.Value, bool) {
	v := s.Config.Variables[name]
	if v == nil {
		return cty.NilVal, false
	}
	if s.Parent == nil {
		val, ok := s.Vars[name]
		if !ok {
			return cty.UnknownVal(v.Type), true
		}
		return val, true
	}
	call := s.Parent.Config.Modules[s.Config.Path[len(s.Config.Path)-1]]
	in := call.Inputs[name]
	if in == nil {
		if v.Default == cty.NilVal {
			return cty.UnknownVal(v.Type), true
		}
		return markIf(v.Default, v.Sensitive), true
	}
	val, diags := s.Parent.Eval(in.Expr, cty.DynamicPseudoType, nil)
	if diags.HasErrors() {
		return cty.UnknownVal(v.Type), true
	}
	if v.TypeDefaults != nil {
		val = v.TypeDefaults.Apply(val)
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		return cty.UnknownVal(v.Type), true
	}
	return markIf(conv, v.Sensitive), true
}

func markIf(v cty.Value, sensitive bool) cty.Value {
	if sensitive {
		return v.Mark(SensitiveMark)
	}
	return v
}

// localValue evaluates a local once its value is wholly known and memoizes
// it; a partly unknown value is recomputed later, when more steps are done.
// Validation rejects cycles among locals before anything is evaluated, so
// the per-local locks cannot wait on each other in a circle.
func (s *Scope) localValue(name string, chain []string) (cty.Value, hcl.Diagnostics) {
	l := s.Config.Locals[name]
	if l == nil || slices.Contains(chain, name) {
		return cty.DynamicVal, nil
	}
	s.mu.Lock()
	e := s.locals[name]
	if e == nil {
		e = &localEntry{}
		s.locals[name] = e
	}
	s.mu.Unlock()
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.known {
		return e.val, nil
	}
	v, diags := s.eval(l.Expr, cty.DynamicPseudoType, nil, append(slices.Clip(chain), name))
	if !diags.HasErrors() && v.IsWhollyKnown() {
		e.val, e.known = v, true
	}
	return v, diags
}

// moduleOutput evaluates the module output a reference reads.
func (s *Scope) moduleOutput(ref *Ref) (cty.Value, hcl.Diagnostics) {
	child := s.Children[ref.Name]
	if child == nil || ref.Output == "" {
		return cty.NilVal, nil
	}
	out := child.Config.Outputs[ref.Output]
	if out == nil {
		return cty.NilVal, nil
	}
	v, diags := child.Eval(out.Value, cty.DynamicPseudoType, nil)
	return markIf(v, out.Sensitive), diags
}

// Child returns the scope of module name, or nil.
func (s *Scope) Child(name string) *Scope { return s.Children[name] }
