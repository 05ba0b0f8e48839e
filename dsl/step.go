package dsl

import (
	"fmt"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// stepMetaSchema lists the meta-arguments every step has; whatever else the
// block holds belongs to the action and is checked against its schema.
var stepMetaSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "action", Required: true},
		{Name: "provider"},
		{Name: "depends_on"},
		{Name: "when"},
		{Name: "for_each"},
		{Name: "timeout"},
		{Name: "confirm"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "retry"},
		{Type: "precondition"},
		{Type: "postcondition"},
	},
}

// MetaArguments names the step attributes that an action schema may not
// reuse as inputs.
var MetaArguments = map[string]bool{
	"action": true, "provider": true, "depends_on": true, "when": true, "for_each": true,
	"timeout": true, "confirm": true, "retry": true, "precondition": true, "postcondition": true,
}

var retrySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "attempts"}, {Name: "delay"}, {Name: "backoff"}, {Name: "max_delay"}},
}

func (c *Config) addStep(block *hcl.Block) hcl.Diagnostics {
	name := block.Labels[0]
	if prev := c.Steps[name]; prev != nil {
		return hcl.Diagnostics{duplicate("step", name, prev.NameRange, block.LabelRanges[0])}
	}
	content, rest, diags := block.Body.PartialContent(stepMetaSchema)
	s := &Step{
		Name: name, Finally: block.Type == "finally", Inputs: rest,
		InputRefs: remainTraversals(block.Body, rest, stepMetaSchema),
		DeclRange: block.DefRange, NameRange: block.LabelRanges[0], SrcRange: block.DefRange,
	}
	if sb, ok := block.Body.(*hclsyntax.Body); ok {
		s.SrcRange = hcl.RangeBetween(block.DefRange, sb.SrcRange)
	}
	if a := content.Attributes["action"]; a != nil {
		ref, adiags := decodeActionRef(a.Expr)
		diags = append(diags, adiags...)
		s.Action = ref
	}
	if a := content.Attributes["provider"]; a != nil {
		diags = append(diags, s.decodeProviderArg(a)...)
	}
	if a := content.Attributes["depends_on"]; a != nil {
		deps, ddiags := decodeDependsOn(a)
		diags = append(diags, ddiags...)
		s.DependsOn = deps
	}
	s.When = attrExpr(content.Attributes["when"])
	s.ForEach = attrExpr(content.Attributes["for_each"])
	s.Timeout = attrExpr(content.Attributes["timeout"])
	s.Confirm = attrExpr(content.Attributes["confirm"])
	for _, b := range content.Blocks {
		switch b.Type {
		case "retry":
			diags = append(diags, s.decodeRetry(b)...)
		case "precondition", "postcondition":
			chk, cdiags := decodeCheck(b)
			diags = append(diags, cdiags...)
			if b.Type == "precondition" {
				s.Preconditions = append(s.Preconditions, chk)
			} else {
				s.Postconditions = append(s.Postconditions, chk)
			}
		}
	}
	c.Steps[name] = s
	c.StepOrder = append(c.StepOrder, name)
	return diags
}

func attrExpr(a *hcl.Attribute) hcl.Expression {
	if a == nil {
		return nil
	}
	return a.Expr
}

// decodeActionRef reads `action = provider.action_name`.
func decodeActionRef(expr hcl.Expression) (ActionRef, hcl.Diagnostics) {
	trav, diags := hcl.AbsTraversalForExpr(expr)
	if !diags.HasErrors() && len(trav) == 2 {
		if attr, ok := trav[1].(hcl.TraverseAttr); ok {
			return ActionRef{Provider: trav.RootName(), Action: attr.Name, Range: expr.Range()}, nil
		}
	}
	return ActionRef{Range: expr.Range()}, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid action",
		Detail:   "The action is written as PROVIDER.ACTION without quotes, for example `action = core.exec`.",
		Subject:  expr.Range().Ptr(),
	}}
}

// decodeProviderArg reads `provider = openstack.dr`, which picks an aliased
// provider configuration.
func (s *Step) decodeProviderArg(a *hcl.Attribute) hcl.Diagnostics {
	trav, diags := hcl.AbsTraversalForExpr(a.Expr)
	if !diags.HasErrors() && len(trav) == 2 {
		if attr, ok := trav[1].(hcl.TraverseAttr); ok && trav.RootName() == s.Action.Provider {
			s.ProviderAlias = attr.Name
			return nil
		}
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid provider reference",
		Detail:   fmt.Sprintf("The provider argument selects an aliased configuration of the action's provider, written %s.ALIAS.", s.Action.Provider),
		Subject:  a.Expr.Range().Ptr(),
	}}
}

func decodeDependsOn(a *hcl.Attribute) ([]hcl.Traversal, hcl.Diagnostics) {
	exprs, diags := hcl.ExprList(a.Expr)
	var out []hcl.Traversal
	for _, e := range exprs {
		trav, tdiags := hcl.AbsTraversalForExpr(e)
		if tdiags.HasErrors() || (trav.RootName() != "step" && trav.RootName() != "module") {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid depends_on reference",
				Detail:   "depends_on lists steps or modules, such as step.backup or module.restore.",
				Subject:  e.Range().Ptr(),
			})
			continue
		}
		out = append(out, trav)
	}
	return out, diags
}

func (s *Step) decodeRetry(block *hcl.Block) hcl.Diagnostics {
	if s.Retry != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Duplicate retry block",
			Detail:   fmt.Sprintf("Step %q already has a retry block at %s; a step has at most one.", s.Name, s.Retry.DeclRange),
			Subject:  block.DefRange.Ptr(),
		}}
	}
	content, diags := block.Body.Content(retrySchema)
	s.Retry = &Retry{
		Attempts:  attrExpr(content.Attributes["attempts"]),
		Delay:     attrExpr(content.Attributes["delay"]),
		Backoff:   attrExpr(content.Attributes["backoff"]),
		MaxDelay:  attrExpr(content.Attributes["max_delay"]),
		DeclRange: block.DefRange,
	}
	return diags
}

// checkDuration reports a constant that is not a Go duration string.
func checkDuration(s string, rng hcl.Range) hcl.Diagnostics {
	if _, err := ParseDuration(s); err != nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   err.Error() + ".",
			Subject:  rng.Ptr(),
		}}
	}
	return nil
}

// ParseDuration parses a duration written as in Go ("90s", "5m", "1h30m")
// and refuses negative ones.
func ParseDuration(s string) (time.Duration, error) {
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration; write it as in \"90s\", \"5m\" or \"1h30m\"", s)
	}
	if d < 0 {
		return 0, fmt.Errorf("%q is negative; durations must be zero or more", s)
	}
	return d, nil
}
