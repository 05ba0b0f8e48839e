package sdk

import (
	"fmt"
	"math/big"
	"reflect"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/gocty"

	"github.com/runbook-dev/runbook/dsl"
)

// The struct tags the SDK reads.
//
//	cty:"name"                     the attribute's name (gocty's tag); untagged fields are ignored
//	runbook:"required,sensitive"   flags: required, sensitive, block
//	help:"..."                     the attribute's description
//	type:"set(string)"             the cty type, in HCL type syntax, when the Go type does not imply it
const (
	tagName  = "cty"
	tagFlags = "runbook"
	tagHelp  = "help"
	tagType  = "type"
)

var (
	valueType    = reflect.TypeFor[cty.Value]()
	bigFloatType = reflect.TypeFor[big.Float]()
	bigIntType   = reflect.TypeFor[big.Int]()
)

// structInfo is what the SDK knows of a struct used as inputs, outputs,
// configuration or a nested object: its fields and its cty object type.
type structInfo struct {
	goType reflect.Type
	fields []*fieldInfo
	ty     cty.Type
}

// fieldInfo is one tagged field.
type fieldInfo struct {
	index     []int
	name      string
	ty        cty.Type
	required  bool
	sensitive bool
	help      string
	// block is set for `runbook:"block"` fields: a nested block, single
	// (struct or *struct) or list ([]struct).
	block bool
	list  bool
	// nested describes the struct the field holds (directly, through a
	// pointer, or as the elements of a slice), when the field's cty type
	// was implied from it rather than given by a type tag.
	nested *structInfo
}

// analyze reads the tags of a struct type. visiting guards against
// recursive types, which cty cannot express.
func analyze(t reflect.Type, visiting map[reflect.Type]bool) (*structInfo, error) {
	if t.Kind() != reflect.Struct || isScalarStruct(t) {
		return nil, fmt.Errorf("%s is not a struct", t)
	}
	if visiting[t] {
		return nil, fmt.Errorf("%s refers to itself; cty types cannot be recursive", t)
	}
	visiting[t] = true
	defer delete(visiting, t)

	si := &structInfo{goType: t}
	attrs := map[string]cty.Type{}
	for i := 0; i < t.NumField(); i++ {
		sf := t.Field(i)
		name, ok := sf.Tag.Lookup(tagName)
		if !ok || name == "" || name == "-" {
			continue
		}
		if !sf.IsExported() {
			return nil, fmt.Errorf("%s.%s: a tagged field must be exported", t, sf.Name)
		}
		if !hclsyntax.ValidIdentifier(name) {
			return nil, fmt.Errorf("%s.%s: %q is not a valid attribute name", t, sf.Name, name)
		}
		if _, dup := attrs[name]; dup {
			return nil, fmt.Errorf("%s.%s: attribute %q is declared twice", t, sf.Name, name)
		}
		f := &fieldInfo{index: sf.Index, name: name, help: sf.Tag.Get(tagHelp)}
		if flags := sf.Tag.Get(tagFlags); flags != "" {
			for _, flag := range strings.Split(flags, ",") {
				switch strings.TrimSpace(flag) {
				case "required":
					f.required = true
				case "sensitive":
					f.sensitive = true
				case "block":
					f.block = true
				case "":
				default:
					return nil, fmt.Errorf("%s.%s: unknown %s flag %q (want required, sensitive or block)", t, sf.Name, tagFlags, flag)
				}
			}
		}
		var err error
		if expr, ok := sf.Tag.Lookup(tagType); ok {
			if f.block {
				return nil, fmt.Errorf("%s.%s: a block takes its type from its struct, not a %s tag", t, sf.Name, tagType)
			}
			if f.ty, err = parseType(expr); err != nil {
				return nil, fmt.Errorf("%s.%s: %w", t, sf.Name, err)
			}
		} else {
			if f.ty, f.nested, err = impliedType(sf.Type, visiting); err != nil {
				return nil, fmt.Errorf("%s.%s: %w", t, sf.Name, err)
			}
		}
		if f.block {
			switch deref(sf.Type).Kind() {
			case reflect.Struct:
			case reflect.Slice:
				f.list = true
			}
			if f.nested == nil || (f.list && sf.Type.Elem().Kind() != reflect.Struct) {
				return nil, fmt.Errorf("%s.%s: a block must be a struct, a pointer to one, or a slice of them", t, sf.Name)
			}
		}
		attrs[name] = f.ty
		si.fields = append(si.fields, f)
	}
	si.ty = cty.Object(attrs)
	return si, nil
}

// impliedType is gocty.ImpliedType, except that structs inside are read
// with the SDK's tags (so that type tags work at any depth) and
// cty.Value means any type.
func impliedType(t reflect.Type, visiting map[reflect.Type]bool) (cty.Type, *structInfo, error) {
	switch {
	case t == valueType:
		return cty.DynamicPseudoType, nil, nil
	case isScalarStruct(t):
		return cty.Number, nil, nil
	}
	switch t.Kind() {
	case reflect.Pointer:
		return impliedType(t.Elem(), visiting)
	case reflect.Struct:
		si, err := analyze(t, visiting)
		if err != nil {
			return cty.NilType, nil, err
		}
		if len(si.fields) == 0 {
			// time.Time, say: gocty would make it an empty object.
			return cty.NilType, nil, fmt.Errorf("%s has no fields with cty tags; use a string for times", t)
		}
		return si.ty, si, nil
	case reflect.Slice:
		ety, nested, err := impliedType(t.Elem(), visiting)
		if err != nil {
			return cty.NilType, nil, err
		}
		return cty.List(ety), nested, nil
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return cty.NilType, nil, fmt.Errorf("map keys must be strings, not %s", t.Key())
		}
		ety, _, err := impliedType(t.Elem(), visiting)
		if err != nil {
			return cty.NilType, nil, err
		}
		return cty.Map(ety), nil, nil
	case reflect.Interface:
		return cty.NilType, nil, fmt.Errorf("%s has no cty type; use cty.Value for any type", t)
	}
	ty, err := gocty.ImpliedType(reflect.Zero(t).Interface())
	if err != nil {
		return cty.NilType, nil, err
	}
	return ty, nil, nil
}

// isScalarStruct reports the struct types gocty reads as numbers.
func isScalarStruct(t reflect.Type) bool {
	return t == bigFloatType || t == bigIntType || t == valueType
}

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// parseType reads a type tag: an HCL type constraint such as
// set(string), map(number), tuple([string, bool]) or any.
func parseType(expr string) (cty.Type, error) {
	e, diags := hclsyntax.ParseExpression([]byte(expr), "type", hcl.InitialPos)
	if diags.HasErrors() {
		return cty.NilType, fmt.Errorf("type %q: %s", expr, diags.Error())
	}
	ty, diags := typeexpr.TypeConstraint(e)
	if diags.HasErrors() {
		return cty.NilType, fmt.Errorf("type %q: %s", expr, diags.Error())
	}
	return ty, nil
}

// blockSchema is the dsl schema of a struct used as a body: inputs,
// configuration or a nested block.
func (si *structInfo) blockSchema() *dsl.BlockSchema {
	b := &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{}, Blocks: map[string]*dsl.NestedBlockSchema{}}
	for _, f := range si.fields {
		if !f.block {
			b.Attributes[f.name] = &dsl.AttributeSchema{Type: f.ty, Required: f.required, Sensitive: f.sensitive, Description: f.help}
			continue
		}
		nb := &dsl.NestedBlockSchema{Nesting: dsl.NestingSingle, Block: f.nested.blockSchema()}
		if f.list {
			nb.Nesting = dsl.NestingList
		}
		if f.required {
			nb.MinItems = 1
		}
		b.Blocks[f.name] = nb
	}
	return b
}

// outputTypes is the dsl form of an output struct.
func (si *structInfo) outputTypes() map[string]cty.Type {
	out := make(map[string]cty.Type, len(si.fields))
	for _, f := range si.fields {
		out[f.name] = f.ty
	}
	return out
}

// analyzeType reads the struct type T, for an action's inputs or outputs or
// the configuration.
func analyzeType[T any](what string) (*structInfo, error) {
	t := reflect.TypeFor[T]()
	if t.Kind() != reflect.Struct || isScalarStruct(t) {
		return nil, fmt.Errorf("%s: %s must be a struct type", what, t)
	}
	si, err := analyze(t, map[reflect.Type]bool{})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return si, nil
}
