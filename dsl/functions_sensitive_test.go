package dsl

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
)

func TestFunctionErrorsHideSensitiveArguments(t *testing.T) {
	const secret = "Hunter2-Secret"
	ctx := &hcl.EvalContext{
		Functions: Functions("."),
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{
			"pw":    cty.StringVal(secret).Mark(SensitiveMark),
			"plain": cty.StringVal("not-a-number"),
		})},
	}
	eval := func(src string) (cty.Value, hcl.Diagnostics) {
		expr, diags := hclsyntax.ParseExpression([]byte(src), "t.hcl", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags.Error())
		}
		return expr.Value(ctx)
	}
	for _, src := range []string{"tonumber(var.pw)", "tonumber(lower(var.pw))", "base64decode(upper(var.pw))", `parseint(var.pw, 10)`} {
		_, diags := eval(src)
		if !diags.HasErrors() {
			t.Fatalf("%s: no error", src)
		}
		if msg := diags.Error(); strings.Contains(strings.ToLower(msg), strings.ToLower(secret)) {
			t.Errorf("%s: the error shows the secret: %s", src, msg)
		} else if !strings.Contains(msg, "sensitive") {
			t.Errorf("%s: the error does not say why it is hidden: %s", src, msg)
		}
	}
	// Without a secret the function's own message stays.
	if _, diags := eval("tonumber(var.plain)"); !strings.Contains(diags.Error(), `"not-a-number"`) {
		t.Errorf("plain error: %s", diags.Error())
	}
	// Successful calls keep the mark on their result.
	v, diags := eval("upper(var.pw)")
	if raw, _ := v.Unmark(); diags.HasErrors() || !v.HasMark(SensitiveMark) || !raw.RawEquals(cty.StringVal(strings.ToUpper(secret))) {
		t.Errorf("upper(var.pw) = %#v, %s", v, diags.Error())
	}
	if v, diags := eval(`try(tonumber(var.pw), 7)`); diags.HasErrors() || !v.RawEquals(cty.NumberIntVal(7)) {
		t.Errorf("try: %#v %s", v, diags.Error())
	}
}
