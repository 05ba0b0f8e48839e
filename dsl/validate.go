package dsl

import (
	"fmt"
	"sort"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// BuiltinProviders are always available without a provider block.
var BuiltinProviders = map[string]bool{"core": true}

// Validate checks cfg and its modules without evaluating anything that needs
// a variable value or a step's outputs: blocks and references, provider and
// action names, inputs against action schemas, the types of meta-arguments
// that are constants, and cycles among locals. Step dependency cycles are the
// engine's (they need the graph); everything is reported in one pass.
func Validate(cfg *Config, schemas SchemaSource) hcl.Diagnostics {
	v := &validator{schemas: schemas, warned: map[string]bool{}, decodeInputs: true}
	return v.config(cfg)
}

// ValidateForPlan is Validate without the static evaluation of step
// inputs: the planner evaluates every step's inputs with real values right
// after, which finds the same type errors and more.
func ValidateForPlan(cfg *Config, schemas SchemaSource) hcl.Diagnostics {
	v := &validator{schemas: schemas, warned: map[string]bool{}}
	return v.config(cfg)
}

type validator struct {
	schemas      SchemaSource
	warned       map[string]bool
	decodeInputs bool
}

func (v *validator) config(cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	scope := StaticScope(cfg, v.schemas)
	for _, key := range sortedKeys(cfg.Providers) {
		diags = append(diags, v.provider(cfg, scope, cfg.Providers[key])...)
	}
	for _, name := range cfg.StepOrder {
		diags = append(diags, v.step(cfg, scope, cfg.Steps[name])...)
	}
	diags = append(diags, v.locals(cfg)...)
	for _, name := range sortedKeys(cfg.Outputs) {
		o := cfg.Outputs[name]
		diags = append(diags, v.checkRefs(cfg, o.Value.Variables(), refContext{where: "an output", afterAll: true})...)
	}
	for _, name := range sortedVarNames(cfg) {
		for _, chk := range cfg.Variables[name].Validations {
			travs := append(ExprTraversals(chk.Condition), ExprTraversals(chk.ErrorMessage)...)
			diags = append(diags, v.checkRefs(cfg, travs, refContext{where: "a variable validation", onlyVars: true})...)
		}
	}
	for _, name := range cfg.ModuleOrder {
		diags = append(diags, v.module(cfg, scope, cfg.Modules[name])...)
	}
	return diags
}

func (v *validator) provider(cfg *Config, scope *Scope, p *Provider) hcl.Diagnostics {
	diags := v.checkProviderName(cfg, p.Name, p.DeclRange)
	schema := v.providerSchema(p.Name)
	diags = append(diags, v.checkRefs(cfg, p.ConfigRefs, refContext{where: "a provider configuration"})...)
	if schema != nil && schema.Config != nil && !diags.HasErrors() {
		_, ddiags := scope.DecodeBody(p.Config, p.ConfigRefs, schema.Config, nil)
		diags = append(diags, ddiags...)
	}
	return diags
}

func (v *validator) providerSchema(name string) *ProviderSchema {
	if v.schemas == nil {
		return nil
	}
	s, _ := v.schemas.ProviderSchema(name)
	return s
}

// checkProviderName reports a provider that is neither built in, nor
// configured, nor required.
func (v *validator) checkProviderName(cfg *Config, name string, rng hcl.Range) hcl.Diagnostics {
	if BuiltinProviders[name] || v.providerSchema(name) != nil {
		return nil
	}
	if !declaresProvider(cfg, name) {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown provider",
			Detail: fmt.Sprintf("No provider named %q is built in, configured with a provider block, or listed in required_providers.%s",
				name, suggest(name, knownProviders(cfg))),
			Subject: rng.Ptr(),
		}}
	}
	if v.warned[name] {
		return nil
	}
	v.warned[name] = true
	return hcl.Diagnostics{{
		Severity: hcl.DiagWarning,
		Summary:  "Provider schema not available",
		Detail:   fmt.Sprintf("The schema of provider %q could not be loaded, so the inputs of its actions are not checked. Run `runbook init` to install it.", name),
		Subject:  rng.Ptr(),
	}}
}

// declaresProvider reports whether cfg configures or requires the provider;
// a module declares its own providers.
func declaresProvider(cfg *Config, name string) bool {
	if cfg.Runbook != nil && cfg.Runbook.RequiredProviders[name] != nil {
		return true
	}
	for _, p := range cfg.Providers {
		if p.Name == name {
			return true
		}
	}
	return false
}

func knownProviders(cfg *Config) []string {
	names := []string{"core"}
	for _, p := range cfg.Providers {
		names = append(names, p.Name)
	}
	if cfg.Runbook != nil {
		for n := range cfg.Runbook.RequiredProviders {
			names = append(names, n)
		}
	}
	return names
}

func (v *validator) step(cfg *Config, scope *Scope, s *Step) hcl.Diagnostics {
	var diags hcl.Diagnostics
	schema := v.actionSchema(cfg, s, &diags)
	var inputs *BlockSchema
	if schema != nil {
		inputs = schema.Inputs
	}
	rc := refContext{where: "a step", step: s, each: s.ForEach != nil}
	diags = append(diags, v.checkRefs(cfg, s.InputRefs, rc)...)
	if inputs != nil && v.decodeInputs {
		extra := staticExtra(s)
		_, ddiags := scope.StepInputs(s, schema, extra)
		diags = append(diags, onlyTypeErrors(ddiags)...)
	}
	diags = append(diags, v.meta(cfg, scope, s, schema)...)
	return diags
}

// actionSchema finds the schema of the step's action, reporting unknown
// providers, configurations and actions.
func (v *validator) actionSchema(cfg *Config, s *Step, diags *hcl.Diagnostics) *ActionSchema {
	if s.Action.Provider == "" {
		return nil // decoding already reported the action
	}
	*diags = append(*diags, v.checkProviderName(cfg, s.Action.Provider, s.Action.Range)...)
	if s.ProviderAlias != "" && cfg.Providers[s.ProviderKey()] == nil {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown provider configuration",
			Detail:   fmt.Sprintf("No provider block for %q has alias = %q.", s.Action.Provider, s.ProviderAlias),
			Subject:  s.Action.Range.Ptr(),
		})
	}
	ps := v.providerSchema(s.Action.Provider)
	if ps == nil {
		return nil
	}
	as := ps.Actions[s.Action.Action]
	if as == nil {
		*diags = append(*diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown action",
			Detail: fmt.Sprintf("Provider %q has no action named %q.%s",
				s.Action.Provider, s.Action.Action, suggest(s.Action.Action, sortedKeys(ps.Actions))),
			Subject: s.Action.Range.Ptr(),
		})
	}
	return as
}

func staticExtra(s *Step) *Extra {
	if s.ForEach == nil {
		return nil
	}
	return &Extra{Each: &Each{Key: cty.UnknownVal(cty.String), Value: cty.DynamicVal}}
}

// meta checks the step's meta-arguments: references everywhere, types
// where the value is already known.
func (v *validator) meta(cfg *Config, scope *Scope, s *Step, action *ActionSchema) hcl.Diagnostics {
	var diags hcl.Diagnostics
	rc := refContext{where: "a step", step: s, each: s.ForEach != nil}
	for _, e := range []hcl.Expression{s.When, s.Timeout, s.Confirm} {
		diags = append(diags, v.checkRefs(cfg, ExprTraversals(e), rc)...)
	}
	if s.ForEach != nil {
		feRC := rc
		feRC.each = false
		travs := s.ForEach.Variables()
		diags = append(diags, v.checkRefs(cfg, travs, feRC)...)
		if !hasErrorsIn(diags, s.ForEach.Range()) {
			val, fdiags := scope.Eval(s.ForEach, cty.DynamicPseudoType, nil)
			diags = append(diags, fdiags...)
			if !fdiags.HasErrors() {
				_, idiags := ForEachItems(val, s.ForEach.Range())
				diags = append(diags, idiags...)
			}
		}
	}
	extra := staticExtra(s)
	diags = append(diags, staticType(scope, s.When, cty.Bool, extra)...)
	if !TimeoutIsInput(action) {
		diags = append(diags, staticDuration(scope, s.Timeout, extra)...)
	}
	diags = append(diags, staticType(scope, s.Confirm, cty.String, extra)...)
	if s.Retry != nil {
		diags = append(diags, v.retry(cfg, scope, s, rc)...)
	}
	for _, chk := range s.Preconditions {
		diags = append(diags, v.checkRefs(cfg, append(ExprTraversals(chk.Condition), ExprTraversals(chk.ErrorMessage)...), rc)...)
	}
	post := rc
	post.self = true
	for _, chk := range s.Postconditions {
		diags = append(diags, v.checkRefs(cfg, append(ExprTraversals(chk.Condition), ExprTraversals(chk.ErrorMessage)...), post)...)
	}
	for _, t := range s.DependsOn {
		diags = append(diags, v.checkRefs(cfg, []hcl.Traversal{t}, refContext{where: "depends_on", step: s, bareModule: true})...)
	}
	return diags
}

func (v *validator) retry(cfg *Config, scope *Scope, s *Step, rc refContext) hcl.Diagnostics {
	r := s.Retry
	var diags hcl.Diagnostics
	for _, e := range []hcl.Expression{r.Attempts, r.Delay, r.Backoff, r.MaxDelay} {
		diags = append(diags, v.checkRefs(cfg, ExprTraversals(e), rc)...)
	}
	if diags.HasErrors() {
		return diags
	}
	diags = append(diags, staticNumber(scope, r.Attempts, 1, "attempts")...)
	diags = append(diags, staticNumber(scope, r.Backoff, 1, "backoff")...)
	diags = append(diags, staticDuration(scope, r.Delay, nil)...)
	diags = append(diags, staticDuration(scope, r.MaxDelay, nil)...)
	return diags
}

func hasErrorsIn(diags hcl.Diagnostics, rng hcl.Range) bool {
	for _, d := range diags {
		if d.Severity == hcl.DiagError && d.Subject != nil && rng.Overlaps(*d.Subject) {
			return true
		}
	}
	return false
}

func staticType(scope *Scope, e hcl.Expression, ty cty.Type, extra *Extra) hcl.Diagnostics {
	if e == nil {
		return nil
	}
	_, diags := scope.Eval(e, ty, extra)
	return onlyTypeErrors(diags)
}

// onlyTypeErrors drops reference errors, which checkRefs already reported
// with a better message.
func onlyTypeErrors(diags hcl.Diagnostics) hcl.Diagnostics {
	var out hcl.Diagnostics
	for _, d := range diags {
		if d.Summary == "Unsupported attribute" || d.Summary == "Unknown variable" || d.Summary == "Unknown reference" || d.Summary == "Invalid reference" {
			continue
		}
		out = append(out, d)
	}
	return out
}

func staticDuration(scope *Scope, e hcl.Expression, extra *Extra) hcl.Diagnostics {
	if e == nil {
		return nil
	}
	val, diags := scope.Eval(e, cty.String, extra)
	diags = onlyTypeErrors(diags)
	if diags.HasErrors() || !val.IsWhollyKnown() || val.IsNull() {
		return diags
	}
	s, _ := val.Unmark()
	return append(diags, checkDuration(s.AsString(), e.Range())...)
}

func staticNumber(scope *Scope, e hcl.Expression, min int, name string) hcl.Diagnostics {
	if e == nil {
		return nil
	}
	val, diags := scope.Eval(e, cty.Number, nil)
	diags = onlyTypeErrors(diags)
	if diags.HasErrors() || !val.IsWhollyKnown() || val.IsNull() {
		return diags
	}
	n, _ := val.Unmark()
	if f, _ := n.AsBigFloat().Float64(); f < float64(min) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid retry " + name,
			Detail:   fmt.Sprintf("%s must be at least %d.", name, min),
			Subject:  e.Range().Ptr(),
		})
	}
	return diags
}

func (v *validator) locals(cfg *Config) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range sortedKeys(cfg.Locals) {
		diags = append(diags, v.checkRefs(cfg, cfg.Locals[name].Expr.Variables(), refContext{where: "a local value"})...)
	}
	return append(diags, localCycles(cfg)...)
}

// localCycles reports locals that depend on themselves.
func localCycles(cfg *Config) hcl.Diagnostics {
	const (
		unvisited = iota
		visiting
		done
	)
	state := map[string]int{}
	var diags hcl.Diagnostics
	var visit func(name string, path []string)
	visit = func(name string, path []string) {
		switch state[name] {
		case done:
			return
		case visiting:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Cycle in local values",
				Detail:   fmt.Sprintf("The local values refer to each other in a cycle: %s.", cyclePath(path, name)),
				Subject:  cfg.Locals[name].DeclRange.Ptr(),
			})
			return
		}
		state[name] = visiting
		for _, t := range cfg.Locals[name].Expr.Variables() {
			if ref, d := ParseRef(t); !d.HasErrors() && ref.Kind == RefLocal && cfg.Locals[ref.Name] != nil {
				visit(ref.Name, append(path, name))
			}
		}
		state[name] = done
	}
	for _, name := range sortedKeys(cfg.Locals) {
		visit(name, nil)
	}
	return diags
}

func cyclePath(path []string, again string) string {
	out := ""
	started := false
	for _, p := range path {
		if p == again {
			started = true
		}
		if started {
			out += "local." + p + " -> "
		}
	}
	return out + "local." + again
}

func (v *validator) module(cfg *Config, scope *Scope, m *Module) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range m.DependsOn {
		diags = append(diags, v.checkRefs(cfg, []hcl.Traversal{t}, refContext{where: "depends_on", bareModule: true})...)
	}
	for _, name := range sortedAttrNames(m.Inputs) {
		a := m.Inputs[name]
		rdiags := v.checkRefs(cfg, a.Expr.Variables(), refContext{where: "a module input"})
		diags = append(diags, rdiags...)
		if cv := m.childVariable(name); cv != nil && !rdiags.HasErrors() {
			if val, ediags := scope.Eval(a.Expr, cty.DynamicPseudoType, nil); !ediags.HasErrors() {
				if cv.TypeDefaults != nil {
					val = cv.TypeDefaults.Apply(val)
				}
				if _, err := convert.Convert(val, cv.Type); err != nil {
					diags = append(diags, &hcl.Diagnostic{
						Severity: hcl.DiagError,
						Summary:  "Invalid value for module input",
						Detail:   fmt.Sprintf("The value for variable %q of module %q is not a %s: %s.", name, m.Name, cv.Type.FriendlyName(), err),
						Subject:  a.Expr.Range().Ptr(),
					})
				}
			}
		}
		if m.Config != nil && m.Config.Variables[name] == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unsupported module input",
				Detail:   fmt.Sprintf("Module %q declares no variable named %q.%s", m.Name, name, suggest(name, sortedKeys(m.Config.Variables))),
				Subject:  a.NameRange.Ptr(),
			})
		}
	}
	if m.Config == nil {
		return diags
	}
	for _, name := range sortedVarNames(m.Config) {
		if m.Config.Variables[name].Required() && m.Inputs[name] == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing module input",
				Detail:   fmt.Sprintf("Module %q needs a value for its variable %q, which has no default.", m.Name, name),
				Subject:  m.DeclRange.Ptr(),
			})
		}
	}
	return append(diags, v.config(m.Config)...)
}

func (m *Module) childVariable(name string) *Variable {
	if m.Config == nil {
		return nil
	}
	return m.Config.Variables[name]
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest returns " Did you mean "x"?" when a known name is close to name.
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if d := levenshtein.Distance(name, k, nil); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %q?", best)
}

// checkRefs is checkRefs with the step output names checked against the
// actions' schemas.
func (v *validator) checkRefs(cfg *Config, travs []hcl.Traversal, rc refContext) hcl.Diagnostics {
	rc.schemas = v.schemas
	return checkRefs(cfg, travs, rc)
}
