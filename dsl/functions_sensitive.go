package dsl

import (
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
)

// unwrapped are the functions hideSensitiveErrors leaves as they are: try
// and can take expressions, not values, and sensitive and nonsensitive
// are about marks themselves.
var unwrapped = map[string]bool{"try": true, "can": true, "sensitive": true, "nonsensitive": true}

// hideSensitiveErrors wraps every function so that when a call fails and
// one of its arguments is sensitive, the error says which argument without
// the function's own message: go-cty's functions quote the offending value
// (tonumber: `cannot convert "hunter2" to number`), and the value may be a
// secret or a function of one (lower(var.password)), which no scrubbing
// of known secrets can catch.
func hideSensitiveErrors(fns map[string]function.Function) {
	for name, f := range fns {
		if !unwrapped[name] {
			fns[name] = hidingErrors(f)
		}
	}
}

func hidingErrors(f function.Function) function.Function {
	params := f.Params()
	for i := range params {
		params[i].AllowMarked = true
	}
	var varParam *function.Parameter
	if vp := f.VarParam(); vp != nil {
		c := *vp
		c.AllowMarked = true
		varParam = &c
	}
	return function.New(&function.Spec{
		Description: f.Description(),
		Params:      params,
		VarParam:    varParam,
		Type:        f.ReturnTypeForValues,
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			v, err := f.Call(args)
			if err == nil {
				return v, nil
			}
			for i, a := range args {
				if a.ContainsMarked() {
					return cty.NilVal, function.NewArgErrorf(i, "the value is sensitive, so this function's error, which would show it, is hidden")
				}
			}
			return cty.NilVal, err
		},
	})
}
