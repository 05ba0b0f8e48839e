package dsl

import (
	"fmt"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// EnvPrefix is the prefix of environment variables that set runbook
// variables: RUNBOOK_VAR_region=eu-1.
const EnvPrefix = "RUNBOOK_VAR_"

// VarArg is one -var or -var-file argument, kept in command-line order
// because later ones win.
type VarArg struct {
	File  bool   // a -var-file PATH rather than -var NAME=VALUE
	Value string // "NAME=VALUE" or the path
}

// rawValue is a variable value before conversion to its declared type.
type rawValue struct {
	expr  hcl.Expression // set for values read from files
	str   string         // set for -var and environment values
	isStr bool
	rng   hcl.Range
	from  string
}

// ResolveVariables computes the value of every root variable with
// Terraform's precedence: default, then RUNBOOK_VAR_* environment
// variables, then -var and -var-file in the order given. Sensitive values
// come back marked with SensitiveMark.
func (l *Loader) ResolveVariables(cfg *Config, environ []string, args []VarArg) (map[string]cty.Value, hcl.Diagnostics) {
	return l.ResolveVariablesOver(cfg, nil, environ, args)
}

// ResolveVariablesOver is ResolveVariables with base values that take the
// place of the defaults (a saved plan's values), so that only what base
// lacks must be given again; the environment and flags still override
// them, and the caller decides whether that is allowed.
func (l *Loader) ResolveVariablesOver(cfg *Config, base map[string]cty.Value, environ []string, args []VarArg) (map[string]cty.Value, hcl.Diagnostics) {
	raw := map[string]*rawValue{}
	var diags hcl.Diagnostics
	for _, kv := range environ {
		name, val, ok := strings.Cut(kv, "=")
		if !ok || !strings.HasPrefix(name, EnvPrefix) {
			continue
		}
		name = strings.TrimPrefix(name, EnvPrefix)
		if cfg.Variables[name] != nil { // Terraform ignores unknown env vars too
			raw[name] = &rawValue{str: val, isStr: true, rng: synthRange("env:" + EnvPrefix + name), from: "environment variable " + EnvPrefix + name}
		}
	}
	for _, a := range args {
		if a.File {
			diags = append(diags, l.readVarFile(cfg, a.Value, raw)...)
			continue
		}
		diags = append(diags, readVarFlag(cfg, a.Value, raw)...)
	}
	vals := map[string]cty.Value{}
	for _, name := range sortedVarNames(cfg) {
		if b, ok := base[name]; ok && raw[name] == nil {
			vals[name] = markIf(b, cfg.Variables[name].Sensitive)
			continue
		}
		v, vdiags := cfg.Variables[name].resolve(raw[name])
		diags = append(diags, vdiags...)
		vals[name] = v
	}
	if !diags.HasErrors() {
		diags = append(diags, cfg.checkVariableValidations(vals)...)
	}
	return vals, diags
}

func sortedVarNames(cfg *Config) []string {
	names := make([]string, 0, len(cfg.Variables))
	for n := range cfg.Variables {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func synthRange(name string) hcl.Range {
	return hcl.Range{Filename: "<" + name + ">", Start: hcl.InitialPos, End: hcl.InitialPos}
}

func readVarFlag(cfg *Config, arg string, raw map[string]*rawValue) hcl.Diagnostics {
	name, val, ok := strings.Cut(arg, "=")
	if !ok || name == "" {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid -var option",
			Detail:   fmt.Sprintf("The option -var %q is not of the form NAME=VALUE.", arg),
		}}
	}
	if cfg.Variables[name] == nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Value for undeclared variable",
			Detail:   fmt.Sprintf("A variable named %q was assigned with -var, but the runbook declares no such variable.", name),
		}}
	}
	raw[name] = &rawValue{str: val, isStr: true, rng: synthRange("value for var." + name), from: "-var " + name}
	return nil
}

func (l *Loader) readVarFile(cfg *Config, path string, raw map[string]*rawValue) hcl.Diagnostics {
	f, diags := l.parseFile(path)
	if diags.HasErrors() {
		return diags
	}
	attrs, adiags := f.Body.JustAttributes()
	diags = append(diags, adiags...)
	for _, name := range sortedAttrNames(attrs) {
		a := attrs[name]
		if cfg.Variables[name] == nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Value for undeclared variable",
				Detail:   fmt.Sprintf("The runbook declares no variable named %q; this value is ignored.", name),
				Subject:  a.NameRange.Ptr(),
			})
			continue
		}
		raw[name] = &rawValue{expr: a.Expr, rng: a.Expr.Range(), from: path}
	}
	return diags
}

// resolve turns the winning raw value (or the default) into a typed value.
func (v *Variable) resolve(raw *rawValue) (cty.Value, hcl.Diagnostics) {
	if raw == nil {
		if v.Required() {
			return cty.UnknownVal(v.Type), hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "No value for required variable",
				Detail: fmt.Sprintf("The variable %q has no default. Set it with -var %s=VALUE, a -var-file, or the environment variable %s%s.",
					v.Name, v.Name, EnvPrefix, v.Name),
				Subject: v.DeclRange.Ptr(),
			}}
		}
		return markIf(v.Default, v.Sensitive), nil
	}
	val, diags := raw.value(v.Type)
	if diags.HasErrors() {
		return cty.UnknownVal(v.Type), diags
	}
	if v.TypeDefaults != nil {
		val = v.TypeDefaults.Apply(val)
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		return cty.UnknownVal(v.Type), hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value for var.%s from %s is not a %s: %s.", v.Name, raw.from, v.Type.FriendlyName(), err),
			Subject:  raw.rng.Ptr(),
		}}
	}
	return markIf(conv, v.Sensitive), nil
}

// value reads a raw value. Strings from -var and the environment are taken
// literally for primitive types and parsed as HCL expressions otherwise, as
// Terraform does.
func (r *rawValue) value(ty cty.Type) (cty.Value, hcl.Diagnostics) {
	if !r.isStr {
		return r.expr.Value(nil)
	}
	if ty.IsPrimitiveType() || ty == cty.DynamicPseudoType {
		return cty.StringVal(r.str), nil
	}
	if d := CheckNesting([]byte(r.str), r.rng.Filename); d != nil {
		return cty.DynamicVal, hcl.Diagnostics{d}
	}
	expr, diags := hclsyntax.ParseExpression([]byte(r.str), r.rng.Filename, hcl.InitialPos)
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	return expr.Value(nil)
}

// checkVariableValidations evaluates every validation block with the
// resolved values.
func (c *Config) checkVariableValidations(vals map[string]cty.Value) hcl.Diagnostics {
	var diags hcl.Diagnostics
	scope := &Scope{Config: c, Vars: vals, funcs: Functions(c.Dir), locals: map[string]*localEntry{}}
	for _, name := range sortedVarNames(c) {
		for _, chk := range c.Variables[name].Validations {
			travs := append(ExprTraversals(chk.Condition), ExprTraversals(chk.ErrorMessage)...)
			if checkRefs(c, travs, refContext{onlyVars: true}).HasErrors() {
				continue // Validate reports the reference
			}
			diags = append(diags, scope.EvalCheck(chk, nil, "Invalid value for variable")...)
		}
	}
	return diags
}

// EvalCheck evaluates a validation, precondition or postcondition and
// returns an error diagnostic carrying its error_message when it fails. An
// unknown condition passes: it is checked again when its values are known.
func (s *Scope) EvalCheck(chk *Check, extra *Extra, summary string) hcl.Diagnostics {
	if chk.Condition == nil || chk.ErrorMessage == nil {
		return nil
	}
	ok, diags := s.Eval(chk.Condition, cty.Bool, extra)
	if diags.HasErrors() || !ok.IsKnown() {
		return diags
	}
	if ok.IsNull() {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError, Summary: "Invalid condition result",
			Detail: "The condition returned null; it must be true or false.", Subject: chk.Condition.Range().Ptr(),
		})
	}
	if v, _ := ok.Unmark(); v.True() {
		return diags
	}
	return append(diags, &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   s.errorMessage(chk, extra),
		Subject:  chk.Condition.Range().Ptr(),
	})
}

func (s *Scope) errorMessage(chk *Check, extra *Extra) string {
	msg, diags := s.Eval(chk.ErrorMessage, cty.String, extra)
	switch {
	case diags.HasErrors() || !msg.IsKnown() || msg.IsNull():
		return "The condition failed, and its error_message could not be evaluated."
	case msg.IsMarked():
		return "The condition failed; its error_message is hidden because it holds a sensitive value."
	}
	return msg.AsString()
}
