package dsl

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	ctyyaml "github.com/zclconf/go-cty-yaml"
	yamlv3 "gopkg.in/yaml.v3"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// The functions below are Terraform's, with Terraform's semantics, for
// which neither go-cty nor go-cty-funcs has a version: runbook authors
// come from Terraform and expect them.

// lengthFunc counts the characters of a string or the elements of a
// collection (cty's length takes only collections).
var lengthFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowDynamicType: true, AllowUnknown: true}},
	Type: func(args []cty.Value) (cty.Type, error) {
		return cty.Number, nil
	},
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if args[0].Type() == cty.String {
			return stdlib.Strlen(args[0])
		}
		if ty := args[0].Type(); ty.IsObjectType() {
			return cty.NumberIntVal(int64(len(ty.AttributeTypes()))), nil
		}
		return stdlib.Length(args[0])
	},
})

func boolFold(all bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Bool)}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			if !args[0].IsWhollyKnown() {
				return cty.UnknownVal(cty.Bool), nil
			}
			for it := args[0].ElementIterator(); it.Next(); {
				_, v := it.Element()
				if v.IsNull() {
					continue
				}
				if v.True() != all {
					return cty.BoolVal(!all), nil
				}
			}
			return cty.BoolVal(all), nil
		},
	})
}

var sumFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.List(cty.Number)}},
	Type:   function.StaticReturnType(cty.Number),
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		if !args[0].IsWhollyKnown() {
			return cty.UnknownVal(cty.Number), nil
		}
		total := cty.Zero
		for it := args[0].ElementIterator(); it.Next(); {
			_, v := it.Element()
			if v.IsNull() {
				return cty.NilVal, function.NewArgErrorf(0, "sum cannot add a null element")
			}
			total = total.Add(v)
		}
		return total, nil
	},
})

func stringTest(test func(s, sub string) bool) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "str", Type: cty.String}, {Name: "substr", Type: cty.String}},
		Type:   function.StaticReturnType(cty.Bool),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			return cty.BoolVal(test(args[0].AsString(), args[1].AsString())), nil
		},
	})
}

// sensitiveFunc marks a value sensitive; nonsensitiveFunc removes the mark,
// for a value the author knows is safe to show (a hash of a secret).
var sensitiveFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowNull: true, AllowMarked: true, AllowDynamicType: true}},
	Type:   func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return args[0].Mark(SensitiveMark), nil
	},
})

var nonsensitiveFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "value", Type: cty.DynamicPseudoType, AllowUnknown: true, AllowNull: true, AllowMarked: true, AllowDynamicType: true}},
	Type:   func(args []cty.Value) (cty.Type, error) { return args[0].Type(), nil },
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		v, _ := args[0].Unmark()
		return v, nil
	},
})

// oneFunc returns the single element of a list or set, null when empty.
var oneFunc = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "list", Type: cty.DynamicPseudoType}},
	Type: func(args []cty.Value) (cty.Type, error) {
		ty := args[0].Type()
		switch {
		case ty.IsListType() || ty.IsSetType():
			return ty.ElementType(), nil
		case ty.IsTupleType() && len(ty.TupleElementTypes()) <= 1:
			if len(ty.TupleElementTypes()) == 0 {
				return cty.DynamicPseudoType, nil
			}
			return ty.TupleElementTypes()[0], nil
		}
		return cty.NilType, function.NewArgErrorf(0, "one takes a list, set or tuple of at most one element")
	},
	Impl: func(args []cty.Value, retType cty.Type) (cty.Value, error) {
		if !args[0].IsKnown() {
			return cty.UnknownVal(retType), nil
		}
		switch n := args[0].LengthInt(); n {
		case 0:
			return cty.NullVal(retType), nil
		case 1:
			it := args[0].ElementIterator()
			it.Next()
			_, v := it.Element()
			return v, nil
		}
		return cty.NilVal, function.NewArgErrorf(0, "one takes a collection of at most one element")
	},
})

func addTerraformFunctions(fns map[string]function.Function) {
	fns["length"] = lengthFunc
	fns["alltrue"] = boolFold(true)
	fns["anytrue"] = boolFold(false)
	fns["sum"] = sumFunc
	fns["one"] = oneFunc
	fns["startswith"] = stringTest(strings.HasPrefix)
	fns["endswith"] = stringTest(strings.HasSuffix)
	fns["strcontains"] = stringTest(strings.Contains)
	fns["sensitive"] = sensitiveFunc
	fns["nonsensitive"] = nonsensitiveFunc
}

// boundedFile wraps file() and filebase64(): they read whole files into
// memory, so a device (file("/dev/zero")) or a huge file would hang or
// exhaust a validate. Only regular files up to MaxFileSize are read.
func boundedFile(baseDir string, read function.Function) function.Function {
	return function.New(&function.Spec{
		Params: []function.Parameter{{Name: "path", Type: cty.String}},
		Type:   function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			path := args[0].AsString()
			full := path
			if !filepath.IsAbs(full) {
				full = filepath.Join(baseDir, full)
			}
			if info, err := os.Stat(full); err == nil {
				switch {
				case !info.Mode().IsRegular():
					return cty.NilVal, fmt.Errorf("%s is not a regular file", path)
				case info.Size() > MaxFileSize:
					return cty.NilVal, fmt.Errorf("%s is larger than %d bytes", path, MaxFileSize)
				}
			}
			return read.Call(args)
		},
	})
}

// boundedYAMLDecode parses with yaml.v3 first, which refuses documents
// that expand aliases excessively (a "billion laughs" would otherwise
// exhaust memory in go-cty-yaml), then decodes with go-cty-yaml.
var boundedYAMLDecode = function.New(&function.Spec{
	Params: []function.Parameter{{Name: "src", Type: cty.String}},
	Type: func(args []cty.Value) (cty.Type, error) {
		if !args[0].IsKnown() {
			return cty.DynamicPseudoType, nil
		}
		var node yamlv3.Node
		if err := yamlv3.Unmarshal([]byte(args[0].AsString()), &node); err != nil {
			return cty.NilType, function.NewArgErrorf(0, "%s", err)
		}
		return ctyyaml.YAMLDecodeFunc.ReturnType([]cty.Type{cty.String})
	},
	Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
		return ctyyaml.YAMLDecodeFunc.Call(args)
	},
})
