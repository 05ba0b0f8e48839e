package providertest

import (
	"fmt"

	"github.com/zclconf/go-cty/cty"
)

// Val converts the values provider tests write inputs with to cty:
// strings, bools, ints, []string, map[string]any (an object), nil (null)
// and cty.Value. Anything else is a mistake in the test: it panics.
func Val(v any) cty.Value {
	switch x := v.(type) {
	case nil:
		return cty.NullVal(cty.DynamicPseudoType)
	case cty.Value:
		return x
	case string:
		return cty.StringVal(x)
	case bool:
		return cty.BoolVal(x)
	case int:
		return cty.NumberIntVal(int64(x))
	case []string:
		if len(x) == 0 {
			return cty.ListValEmpty(cty.String)
		}
		l := make([]cty.Value, len(x))
		for i, s := range x {
			l[i] = cty.StringVal(s)
		}
		return cty.ListVal(l)
	case map[string]any:
		m := map[string]cty.Value{}
		for k, e := range x {
			m[k] = Val(e)
		}
		return cty.ObjectVal(m)
	}
	panic(fmt.Sprintf("providertest.Val: %T", v))
}
