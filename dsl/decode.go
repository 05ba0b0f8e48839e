package dsl

import (
	"fmt"
	"strings"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "runbook", LabelNames: []string{"name"}},
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "locals"},
		{Type: "provider", LabelNames: []string{"name"}},
		{Type: "step", LabelNames: []string{"name"}},
		{Type: "finally", LabelNames: []string{"name"}},
		{Type: "output", LabelNames: []string{"name"}},
		{Type: "module", LabelNames: []string{"name"}},
	},
}

func newConfig(dir string, modPath []string) *Config {
	return &Config{
		Dir:       dir,
		Path:      modPath,
		Variables: map[string]*Variable{},
		Locals:    map[string]*Local{},
		Providers: map[string]*Provider{},
		Steps:     map[string]*Step{},
		Outputs:   map[string]*Output{},
		Modules:   map[string]*Module{},
	}
}

// decodeFile adds the blocks of one file to the configuration.
func (c *Config) decodeFile(body hcl.Body) hcl.Diagnostics {
	content, diags := body.Content(fileSchema)
	for _, block := range content.Blocks {
		if block.Type != "locals" {
			diags = append(diags, checkName(block)...)
		}
		switch block.Type {
		case "runbook":
			diags = append(diags, c.addRunbook(block)...)
		case "variable":
			diags = append(diags, c.addVariable(block)...)
		case "locals":
			diags = append(diags, c.addLocals(block)...)
		case "provider":
			diags = append(diags, c.addProvider(block)...)
		case "step", "finally":
			diags = append(diags, c.addStep(block)...)
		case "output":
			diags = append(diags, c.addOutput(block)...)
		case "module":
			diags = append(diags, c.addModule(block)...)
		}
	}
	return diags
}

func checkName(block *hcl.Block) hcl.Diagnostics {
	if len(block.Labels) == 0 || hclIdentifier(block.Labels[0]) {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid name",
		Detail:   fmt.Sprintf("%q is not a valid %s name: a name starts with a letter or underscore and holds only letters, digits, underscores and dashes.", block.Labels[0], block.Type),
		Subject:  block.LabelRanges[0].Ptr(),
	}}
}

func hclIdentifier(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z')
		if !letter && (i == 0 || (r != '-' && (r < '0' || r > '9'))) {
			return false
		}
	}
	return true
}

// article prefixes a noun with "A" or "An".
func article(noun string) string {
	if strings.ContainsRune("aeiou", rune(noun[0])) {
		return "An " + noun
	}
	return "A " + noun
}

func duplicate(kind, name string, prev, this hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s", kind),
		Detail:   fmt.Sprintf("%s named %q was already declared at %s. Names must be unique.", article(kind), name, prev),
		Subject:  this.Ptr(),
	}
}

var runbookSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "version"}, {Name: "description"}, {Name: "rto"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "required_providers"}, {Type: "backend", LabelNames: []string{"type"}}},
}

func (c *Config) addRunbook(block *hcl.Block) hcl.Diagnostics {
	if c.Runbook != nil {
		return hcl.Diagnostics{duplicate("runbook block", block.Labels[0], c.Runbook.DeclRange, block.DefRange)}
	}
	rb := &RunbookBlock{Name: block.Labels[0], DeclRange: block.DefRange, RequiredProviders: map[string]*RequiredProvider{}}
	content, diags := block.Body.Content(runbookSchema)
	diags = append(diags, literalString(content.Attributes["version"], &rb.Version)...)
	diags = append(diags, literalString(content.Attributes["description"], &rb.Description)...)
	if a := content.Attributes["rto"]; a != nil {
		rdiags := literalString(a, &rb.RTO)
		diags = append(diags, rdiags...)
		rb.RTORange = a.Expr.Range()
		if !rdiags.HasErrors() {
			diags = append(diags, checkDuration(rb.RTO, a.Expr.Range())...)
		}
	}
	if rb.Version != "" {
		if _, err := version.NewVersion(rb.Version); err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid runbook version",
				Detail:   fmt.Sprintf("%q is not a version number such as \"1.3.0\".", rb.Version),
				Subject:  content.Attributes["version"].Expr.Range().Ptr(),
			})
		}
	}
	for _, b := range content.Blocks {
		if b.Type == "backend" {
			diags = append(diags, rb.addBackend(b, c.Path != nil)...)
			continue
		}
		diags = append(diags, rb.addRequiredProviders(b)...)
	}
	c.Runbook = rb
	return diags
}

func (rb *RunbookBlock) addRequiredProviders(block *hcl.Block) hcl.Diagnostics {
	attrs, diags := block.Body.JustAttributes()
	for _, name := range sortedAttrNames(attrs) {
		a := attrs[name]
		if prev := rb.RequiredProviders[name]; prev != nil {
			diags = append(diags, duplicate("required provider", name, prev.DeclRange, a.NameRange))
			continue
		}
		rp, rdiags := decodeRequiredProvider(a)
		diags = append(diags, rdiags...)
		rb.RequiredProviders[name] = rp
	}
	return diags
}

// decodeRequiredProvider accepts `name = "~> 1.2"` and
// `name = { source = "...", version = "~> 1.2" }`.
func decodeRequiredProvider(a *hcl.Attribute) (*RequiredProvider, hcl.Diagnostics) {
	rp := &RequiredProvider{Name: a.Name, DeclRange: a.Range}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return rp, diags
	}
	switch {
	case v.Type() == cty.String && v.IsKnown() && !v.IsNull():
		rp.Constraints = v.AsString()
	case v.Type().IsObjectType() && !v.IsNull():
		for k, field := range v.AsValueMap() {
			if field.Type() != cty.String || field.IsNull() {
				return rp, hcl.Diagnostics{badRequiredProvider(a)}
			}
			switch k {
			case "source":
				rp.Source = field.AsString()
			case "version":
				rp.Constraints = field.AsString()
			default:
				return rp, hcl.Diagnostics{badRequiredProvider(a)}
			}
		}
	default:
		return rp, hcl.Diagnostics{badRequiredProvider(a)}
	}
	if rp.Constraints != "" {
		if _, err := version.NewConstraint(rp.Constraints); err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid version constraint",
				Detail:   fmt.Sprintf("%q is not a version constraint such as \">= 1.0, < 2.0\" or \"~> 1.2\".", rp.Constraints),
				Subject:  a.Expr.Range().Ptr(),
			})
		}
	}
	return rp, diags
}

func badRequiredProvider(a *hcl.Attribute) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Invalid required_providers entry",
		Detail:   "Write a version constraint string, or an object with the string attributes `source` and `version`.",
		Subject:  a.Expr.Range().Ptr(),
	}
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "type"}, {Name: "default"}, {Name: "description"}, {Name: "sensitive"}},
	Blocks:     []hcl.BlockHeaderSchema{{Type: "validation"}},
}

func (c *Config) addVariable(block *hcl.Block) hcl.Diagnostics {
	name := block.Labels[0]
	if prev := c.Variables[name]; prev != nil {
		return hcl.Diagnostics{duplicate("variable", name, prev.DeclRange, block.LabelRanges[0])}
	}
	v := &Variable{Name: name, Type: cty.DynamicPseudoType, DeclRange: block.DefRange}
	content, diags := block.Body.Content(variableSchema)
	if a := content.Attributes["type"]; a != nil {
		ty, defaults, tdiags := typeexpr.TypeConstraintWithDefaults(a.Expr)
		diags = append(diags, tdiags...)
		if !tdiags.HasErrors() {
			v.Type, v.TypeDefaults = ty, defaults
		}
	}
	diags = append(diags, literalString(content.Attributes["description"], &v.Description)...)
	diags = append(diags, literalBool(content.Attributes["sensitive"], &v.Sensitive)...)
	if a := content.Attributes["default"]; a != nil {
		diags = append(diags, v.decodeDefault(a)...)
	}
	for _, b := range content.Blocks {
		chk, cdiags := decodeCheck(b)
		diags = append(diags, cdiags...)
		v.Validations = append(v.Validations, chk)
	}
	c.Variables[name] = v
	return diags
}

func (v *Variable) decodeDefault(a *hcl.Attribute) hcl.Diagnostics {
	val, diags := a.Expr.Value(nil)
	if diags.HasErrors() {
		return diags
	}
	if v.TypeDefaults != nil {
		val = v.TypeDefaults.Apply(val)
	}
	conv, err := convert.Convert(val, v.Type)
	if err != nil {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid default value for variable",
			Detail:   fmt.Sprintf("This default value is not compatible with the variable's type constraint: %s.", err),
			Subject:  a.Expr.Range().Ptr(),
		})
	}
	v.Default = conv
	return diags
}

var checkSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "condition", Required: true}, {Name: "error_message", Required: true}},
}

func decodeCheck(block *hcl.Block) (*Check, hcl.Diagnostics) {
	content, diags := block.Body.Content(checkSchema)
	chk := &Check{DeclRange: block.DefRange}
	if a := content.Attributes["condition"]; a != nil {
		chk.Condition = a.Expr
	}
	if a := content.Attributes["error_message"]; a != nil {
		chk.ErrorMessage = a.Expr
	}
	return chk, diags
}

func (c *Config) addLocals(block *hcl.Block) hcl.Diagnostics {
	attrs, diags := block.Body.JustAttributes()
	for _, name := range sortedAttrNames(attrs) {
		a := attrs[name]
		if prev := c.Locals[name]; prev != nil {
			diags = append(diags, duplicate("local value", name, prev.DeclRange, a.NameRange))
			continue
		}
		if !hclIdentifier(name) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid name",
				Detail: fmt.Sprintf("%q is not a valid local value name.", name), Subject: a.NameRange.Ptr()})
			continue
		}
		c.Locals[name] = &Local{Name: name, Expr: a.Expr, DeclRange: a.Range}
	}
	return diags
}

var providerSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "alias"}}}

func (c *Config) addProvider(block *hcl.Block) hcl.Diagnostics {
	content, rest, diags := block.Body.PartialContent(providerSchema)
	p := &Provider{Name: block.Labels[0], Config: rest, DeclRange: block.DefRange,
		ConfigRefs: remainTraversals(block.Body, rest, providerSchema)}
	if a := content.Attributes["alias"]; a != nil {
		diags = append(diags, literalString(a, &p.Alias)...)
		if p.Alias != "" && !hclIdentifier(p.Alias) {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid provider alias",
				Detail: fmt.Sprintf("%q is not a valid alias name.", p.Alias), Subject: a.Expr.Range().Ptr()})
		}
	}
	if prev := c.Providers[p.Key()]; prev != nil {
		return append(diags, duplicate("provider configuration", p.Key(), prev.DeclRange, block.DefRange))
	}
	c.Providers[p.Key()] = p
	return diags
}

var outputSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "value", Required: true}, {Name: "description"}, {Name: "sensitive"}},
}

func (c *Config) addOutput(block *hcl.Block) hcl.Diagnostics {
	name := block.Labels[0]
	if prev := c.Outputs[name]; prev != nil {
		return hcl.Diagnostics{duplicate("output", name, prev.DeclRange, block.LabelRanges[0])}
	}
	content, diags := block.Body.Content(outputSchema)
	o := &Output{Name: name, DeclRange: block.DefRange}
	if a := content.Attributes["value"]; a != nil {
		o.Value = a.Expr
	} else {
		o.Value = hcl.StaticExpr(cty.NullVal(cty.DynamicPseudoType), block.DefRange)
	}
	diags = append(diags, literalString(content.Attributes["description"], &o.Description)...)
	diags = append(diags, literalBool(content.Attributes["sensitive"], &o.Sensitive)...)
	c.Outputs[name] = o
	return diags
}

var moduleSchema = &hcl.BodySchema{Attributes: []hcl.AttributeSchema{
	{Name: "source", Required: true}, {Name: "version"}, {Name: "depends_on"},
}}

func (c *Config) addModule(block *hcl.Block) hcl.Diagnostics {
	name := block.Labels[0]
	if prev := c.Modules[name]; prev != nil {
		return hcl.Diagnostics{duplicate("module", name, prev.DeclRange, block.LabelRanges[0])}
	}
	content, rest, diags := block.Body.PartialContent(moduleSchema)
	m := &Module{Name: name, DeclRange: block.DefRange}
	if a := content.Attributes["source"]; a != nil {
		diags = append(diags, literalString(a, &m.Source)...)
		m.SourceRange = a.Expr.Range()
	}
	if a := content.Attributes["version"]; a != nil {
		diags = append(diags, decodeModuleVersion(a, m)...)
	}
	if a := content.Attributes["depends_on"]; a != nil {
		deps, ddiags := decodeDependsOn(a)
		diags = append(diags, ddiags...)
		m.DependsOn = deps
	}
	inputs, idiags := rest.JustAttributes()
	diags = append(diags, idiags...)
	m.Inputs = inputs
	c.Modules[name] = m
	c.ModuleOrder = append(c.ModuleOrder, name)
	return diags
}

// decodeModuleVersion checks the constraint's syntax here, so that
// validate reports it without fetching anything; which tags it matches
// is up to whoever installs the module.
func decodeModuleVersion(a *hcl.Attribute, m *Module) hcl.Diagnostics {
	m.VersionRange = a.Expr.Range()
	diags := literalString(a, &m.Version)
	if diags.HasErrors() || m.Version == "" {
		return diags
	}
	if _, err := version.NewConstraint(m.Version); err != nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid version constraint",
			Detail:   fmt.Sprintf("%q is not a version constraint such as \">= 1.0, < 2.0\" or \"~> 1.2\".", m.Version),
			Subject:  m.VersionRange.Ptr(),
		})
	}
	return diags
}

// literalString decodes an attribute that must be a constant string.
func literalString(a *hcl.Attribute, dst *string) hcl.Diagnostics {
	if a == nil {
		return nil
	}
	if _, diags := a.Expr.Value(nil); diags.HasErrors() {
		return diags
	}
	return gohcl.DecodeExpression(a.Expr, nil, dst)
}

func literalBool(a *hcl.Attribute, dst *bool) hcl.Diagnostics {
	if a == nil {
		return nil
	}
	if _, diags := a.Expr.Value(nil); diags.HasErrors() {
		return diags
	}
	return gohcl.DecodeExpression(a.Expr, nil, dst)
}
