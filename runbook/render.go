package runbook

import (
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
)

// Sensitive is how a sensitive value is shown wherever a value is shown.
const Sensitive = "(sensitive)"

// renderValue renders one named value of config c for the plan.
func renderValue(g *Graph, c *dsl.Config, name string, v cty.Value, exprs ...hcl.Expression) *PlannedValue {
	pv := &PlannedValue{Name: name, Display: render(g, c, v, exprs...)}
	_, marks := v.UnmarkDeep()
	pv.Sensitive = len(marks) > 0
	pv.Known = v.IsWhollyKnown()
	if pv.Known && !pv.Sensitive {
		pv.Value = v
	}
	return pv
}

// render shows a value as HCL, "(sensitive)", or "(known after step.X)"
// naming the first step the expressions wait for (the value's own, then
// those it depends on implicitly, such as the for_each behind each.*).
func render(g *Graph, c *dsl.Config, v cty.Value, exprs ...hcl.Expression) string {
	if v.IsMarked() {
		return Sensitive
	}
	if !v.IsWhollyKnown() {
		for _, e := range exprs {
			if steps := g.ExprSteps(c, e); len(steps) > 0 {
				return "(known after " + steps[0] + ")"
			}
		}
		return "(known at run time)"
	}
	return FormatValue(v)
}

// FormatValue renders a value as an HCL literal, with every sensitive part
// (an element, an attribute) shown as (sensitive) and every unknown part as
// (unknown).
func FormatValue(v cty.Value) string {
	switch {
	case v.IsMarked():
		return Sensitive
	case !v.IsKnown():
		return "(unknown)" // a dry-run's prediction
	case v.IsNull():
		return "null"
	case !v.ContainsMarked() && v.IsWhollyKnown():
		return strings.TrimSpace(string(hclwrite.TokensForValue(v).Bytes()))
	}
	ty := v.Type()
	var parts []string
	if ty.IsObjectType() || ty.IsMapType() {
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			parts = append(parts, quote(k.AsString())+" = "+FormatValue(e))
		}
		return "{ " + strings.Join(parts, ", ") + " }"
	}
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		parts = append(parts, FormatValue(e))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

func quote(s string) string { return strconv.Quote(s) }
