package dsl

import (
	"fmt"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// refContext says which references an expression may hold.
type refContext struct {
	where      string
	step       *Step // the step holding the expression, if any
	each       bool  // each.* is available (the step has for_each)
	self       bool  // self is available (postconditions)
	onlyVars   bool  // variable validations see variables and nothing else
	bareModule bool  // `module.NAME` alone is allowed (depends_on)
	afterAll   bool  // evaluated after every step, finally ones included (outputs)
	// schemas, when set, lets step output names be checked.
	schemas SchemaSource
}

var pathAttrs = map[string]bool{"module": true, "root": true, "cwd": true}
var runAttrs = map[string]bool{"id": true, "status": true}

// checkRefs reports every reference in travs that does not resolve in cfg
// or is not allowed where it stands.
func checkRefs(cfg *Config, travs []hcl.Traversal, rc refContext) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range travs {
		ref, rdiags := ParseRef(t)
		if rdiags.HasErrors() {
			diags = append(diags, rdiags...)
			continue
		}
		if d := checkRef(cfg, ref, rc); d != nil {
			diags = append(diags, d)
		} else if ref.Kind == RefStep && rc.schemas != nil {
			if d := checkStepOutput(cfg, t, rc.schemas); d != nil {
				diags = append(diags, d)
			}
		}
	}
	return diags
}

func checkRef(cfg *Config, ref *Ref, rc refContext) *hcl.Diagnostic {
	if rc.onlyVars && ref.Kind != RefVar {
		return refErr(ref, "Invalid reference in variable validation",
			fmt.Sprintf("A variable validation may refer only to variables, not to %s.", ref))
	}
	switch ref.Kind {
	case RefVar:
		if cfg.Variables[ref.Name] == nil {
			return refErr(ref, "Reference to undeclared variable",
				fmt.Sprintf("No variable named %q is declared.%s", ref.Name, suggest(ref.Name, sortedKeys(cfg.Variables))))
		}
	case RefLocal:
		if cfg.Locals[ref.Name] == nil {
			return refErr(ref, "Reference to undeclared local value",
				fmt.Sprintf("No local value named %q is declared.%s", ref.Name, suggest(ref.Name, sortedKeys(cfg.Locals))))
		}
	case RefStep:
		return checkStepRef(cfg, ref, rc)
	case RefModule:
		return checkModuleRef(cfg, ref, rc)
	case RefEach:
		if !rc.each {
			return refErr(ref, `Reference to "each" without for_each`,
				`each.key and each.value exist only in a step that has for_each (and not in the for_each expression itself).`)
		}
		if ref.Name != "key" && ref.Name != "value" {
			return refErr(ref, "Invalid each attribute", `The current item is read as each.key or each.value.`)
		}
	case RefSelf:
		if !rc.self {
			return refErr(ref, `Invalid "self" reference`, "self, the step's own outputs, is available only in its postcondition blocks.")
		}
	case RefPath:
		if !pathAttrs[ref.Name] {
			return refErr(ref, "Invalid path attribute", "The path object has the attributes module, root and cwd.")
		}
	case RefRun:
		if !runAttrs[ref.Name] {
			return refErr(ref, "Invalid run attribute", "The run object has the attributes id and status.")
		}
	}
	return nil
}

func checkStepRef(cfg *Config, ref *Ref, rc refContext) *hcl.Diagnostic {
	target := cfg.Steps[ref.Name]
	if target == nil {
		return refErr(ref, "Reference to undeclared step",
			fmt.Sprintf("No step named %q is declared.%s", ref.Name, suggest(ref.Name, cfg.StepOrder)))
	}
	if target.Finally && !rc.afterAll && (rc.step == nil || !rc.step.Finally) {
		return refErr(ref, "Reference to a finally step",
			fmt.Sprintf("finally %q runs after every other step, so only other finally steps can use it.", ref.Name))
	}
	return nil
}

func checkModuleRef(cfg *Config, ref *Ref, rc refContext) *hcl.Diagnostic {
	m := cfg.Modules[ref.Name]
	if m == nil {
		return refErr(ref, "Reference to undeclared module",
			fmt.Sprintf("No module named %q is declared.%s", ref.Name, suggest(ref.Name, cfg.ModuleOrder)))
	}
	if ref.Output == "" {
		if rc.bareModule {
			return nil
		}
		return refErr(ref, "Invalid module reference", "A module's output is read as module.NAME.OUTPUT.")
	}
	if m.Config != nil && m.Config.Outputs[ref.Output] == nil {
		return refErr(ref, "Reference to undeclared module output",
			fmt.Sprintf("Module %q has no output named %q.%s", ref.Name, ref.Output, suggest(ref.Output, sortedKeys(m.Config.Outputs))))
	}
	return nil
}

// checkStepOutput reports step.NAME.OUT (or step.NAME["key"].OUT for a
// for_each step) when the action's schema has no output OUT.
func checkStepOutput(cfg *Config, t hcl.Traversal, schemas SchemaSource) *hcl.Diagnostic {
	name, _ := attrName(t, 1)
	s := cfg.Steps[name]
	if s == nil {
		return nil
	}
	ty := StepOutputType(s, schemas)
	if !ty.IsObjectType() {
		return nil
	}
	i := 2
	if s.ForEach != nil {
		if len(t) <= 2 {
			return nil
		}
		if _, ok := t[2].(hcl.TraverseIndex); !ok {
			return nil
		}
		i = 3
	}
	if len(t) <= i {
		return nil
	}
	a, ok := t[i].(hcl.TraverseAttr)
	if !ok || ty.HasAttribute(a.Name) {
		return nil
	}
	outs := make([]string, 0)
	for n := range ty.AttributeTypes() {
		outs = append(outs, n)
	}
	sort.Strings(outs)
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Unsupported attribute",
		Detail:   fmt.Sprintf("Step %q (%s) has no output named %q.%s", name, s.Action, a.Name, suggest(a.Name, outs)),
		Subject:  a.SrcRange.Ptr(),
	}
}

func refErr(ref *Ref, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: ref.Range.Ptr()}
}

// StaticScope returns a scope for cfg in which every variable and step
// output is unknown but typed: what validation can know before a run.
func StaticScope(cfg *Config, schemas SchemaSource) *Scope {
	vars := map[string]cty.Value{}
	for name, v := range cfg.Variables {
		vars[name] = markIf(cty.UnknownVal(v.Type), v.Sensitive)
	}
	return NewScope(cfg, vars, func(path []string) StepValues {
		return UnknownSteps{Config: findModule(cfg, path), Schemas: schemas}
	})
}

func findModule(root *Config, path []string) *Config {
	c := root
	for _, name := range path[len(root.Path):] {
		c = c.Modules[name].Config
	}
	return c
}

// UnknownSteps gives every step an unknown value of its action's output
// type: plan and validation see step outputs this way.
type UnknownSteps struct {
	Config  *Config
	Schemas SchemaSource
}

// StepValue implements StepValues.
func (u UnknownSteps) StepValue(name string) cty.Value {
	s := u.Config.Steps[name]
	if s == nil {
		return cty.DynamicVal
	}
	ty := StepOutputType(s, u.Schemas)
	if s.ForEach != nil {
		return cty.UnknownVal(cty.Map(ty))
	}
	return cty.UnknownVal(ty)
}

// StepOutputType is the object type of a step's outputs, or
// cty.DynamicPseudoType when its action's schema is not known.
func StepOutputType(s *Step, schemas SchemaSource) cty.Type {
	if schemas == nil {
		return cty.DynamicPseudoType
	}
	ps, ok := schemas.ProviderSchema(s.Action.Provider)
	if !ok || ps.Actions[s.Action.Action] == nil {
		return cty.DynamicPseudoType
	}
	return ps.Actions[s.Action.Action].OutputType()
}

// ForEachItems checks a for_each value and returns its items by key, with
// the keys sorted. A for_each takes a map, an object or a set of strings.
// An unknown value returns nil items and no error.
func ForEachItems(val cty.Value, rng hcl.Range) (map[string]cty.Value, hcl.Diagnostics) {
	bad := func(detail string) hcl.Diagnostics {
		return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Invalid for_each argument", Detail: detail, Subject: rng.Ptr()}}
	}
	unmarked, marks := val.UnmarkDeep()
	ty := unmarked.Type()
	switch {
	case len(marks) > 0:
		return nil, bad("for_each holds a sensitive value; its keys would be shown in plans and history. Use a value that is not sensitive.")
	case unmarked.IsNull():
		return nil, bad("for_each is null; it takes a map, an object or a set of strings.")
	case ty.IsListType() || ty.IsTupleType():
		return nil, bad(fmt.Sprintf("for_each takes a map or a set of strings, and you gave a %s. Convert it with toset(...).", ty.FriendlyName()))
	case ty.IsSetType() && ty.ElementType() != cty.String && ty.ElementType() != cty.DynamicPseudoType:
		return nil, bad(fmt.Sprintf("for_each over a set needs strings, and this is a %s.", ty.FriendlyName()))
	case !ty.IsMapType() && !ty.IsObjectType() && !ty.IsSetType() && ty != cty.DynamicPseudoType:
		return nil, bad(fmt.Sprintf("for_each takes a map, an object or a set of strings, not a %s.", ty.FriendlyName()))
	case !unmarked.IsKnown():
		return nil, nil
	}
	items := map[string]cty.Value{}
	if ty.IsSetType() {
		for _, v := range unmarked.AsValueSlice() {
			if !v.IsKnown() {
				return nil, nil
			}
			if v.IsNull() {
				return nil, bad("for_each holds a null element.")
			}
			items[v.AsString()] = v
		}
		return items, nil
	}
	for k, v := range unmarked.AsValueMap() {
		items[k] = v
	}
	return items, nil
}

// SortedItemKeys returns the keys of a for_each expansion in order.
func SortedItemKeys(items map[string]cty.Value) []string {
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
