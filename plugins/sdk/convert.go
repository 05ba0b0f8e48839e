package sdk

import (
	"errors"
	"fmt"
	"reflect"
	"sort"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
)

// coerce returns v as an object of exactly si's type: each attribute
// converted to its type, missing ones null, nested blocks coerced in turn.
// It rejects attributes si does not declare and required ones that are
// null. Unknown values stay unknown. what names the body in messages
// ("input", "configuration attribute").
func (si *structInfo) coerce(v cty.Value, path cty.Path, what string) (cty.Value, error) {
	if v.IsNull() {
		if len(path) == 0 {
			v = cty.EmptyObjectVal // no body at all: every attribute unset
		} else {
			return cty.NullVal(si.ty), nil
		}
	}
	if !v.IsKnown() {
		return cty.UnknownVal(si.ty), nil
	}
	ty := v.Type()
	if !ty.IsObjectType() && !ty.IsMapType() {
		return cty.NilVal, pathError(what, path, fmt.Errorf("an object is required, not %s", ty.FriendlyName()))
	}
	declared := make(map[string]bool, len(si.fields))
	vals := make(map[string]cty.Value, len(si.fields))
	for _, f := range si.fields {
		declared[f.name] = true
		fpath := path.Copy().GetAttr(f.name)
		raw := cty.NullVal(f.ty)
		switch {
		case ty.IsObjectType() && ty.HasAttribute(f.name):
			raw = v.GetAttr(f.name)
		case ty.IsMapType() && v.HasIndex(cty.StringVal(f.name)).True():
			raw = v.Index(cty.StringVal(f.name))
		}
		var conv cty.Value
		var err error
		switch {
		case f.block && !f.list:
			conv, err = f.nested.coerce(raw, fpath, what)
		case f.block:
			conv, err = f.nested.coerceList(raw, fpath, what)
		default:
			conv, err = convert.Convert(raw, f.ty)
			if err != nil {
				err = pathError(what, fpath, err)
			}
		}
		if err != nil {
			return cty.NilVal, err
		}
		if f.required && conv.IsKnown() && (conv.IsNull() || (f.list && conv.LengthInt() == 0)) {
			if f.block {
				return cty.NilVal, &attributeError{path: fpath, err: fmt.Errorf("a %q block is required", formatPath(fpath))}
			}
			return cty.NilVal, &attributeError{path: fpath, err: fmt.Errorf("the %s %q is required", what, formatPath(fpath))}
		}
		vals[f.name] = conv
	}
	var extra []string
	if ty.IsObjectType() {
		for name := range ty.AttributeTypes() {
			if !declared[name] {
				extra = append(extra, name)
			}
		}
	} else {
		for it := v.ElementIterator(); it.Next(); {
			k, _ := it.Element()
			if !declared[k.AsString()] {
				extra = append(extra, k.AsString())
			}
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		epath := path.Copy().GetAttr(extra[0])
		return cty.NilVal, &attributeError{path: epath, err: fmt.Errorf("unsupported %s %q: the schema has no such attribute", what, formatPath(epath))}
	}
	return cty.ObjectVal(vals), nil
}

// coerceList coerces a list (or set, or tuple) of nested blocks.
func (si *structInfo) coerceList(v cty.Value, path cty.Path, what string) (cty.Value, error) {
	lty := cty.List(si.ty)
	switch {
	case v.IsNull():
		return cty.NullVal(lty), nil
	case !v.IsKnown():
		return cty.UnknownVal(lty), nil
	case !v.CanIterateElements() || v.Type().IsMapType() || v.Type().IsObjectType():
		return cty.NilVal, pathError(what, path, fmt.Errorf("a list of blocks is required, not %s", v.Type().FriendlyName()))
	}
	var items []cty.Value
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		item, err := si.coerce(ev, path.Copy().IndexInt(len(items)), what)
		if err != nil {
			return cty.NilVal, err
		}
		items = append(items, item)
	}
	if len(items) == 0 {
		return cty.ListValEmpty(si.ty), nil
	}
	return cty.ListVal(items), nil
}

// decode fills the struct rv (addressable) from v, an object of si's type
// with no unknown values. Null attributes leave non-pointer fields at
// their zero value, so that an optional string need not be a *string.
func (si *structInfo) decode(v cty.Value, rv reflect.Value, path cty.Path, what string) error {
	for _, f := range si.fields {
		if err := decodeValue(v.GetAttr(f.name), rv.FieldByIndex(f.index), f.nested, path.Copy().GetAttr(f.name), what); err != nil {
			return err
		}
	}
	return nil
}

func decodeValue(v cty.Value, fv reflect.Value, nested *structInfo, path cty.Path, what string) error {
	if fv.Type() == valueType {
		fv.Set(reflect.ValueOf(v))
		return nil
	}
	if v.IsNull() {
		fv.Set(reflect.Zero(fv.Type()))
		return nil
	}
	if nested != nil {
		switch fv.Kind() {
		case reflect.Struct:
			return nested.decode(v, fv, path, what)
		case reflect.Pointer:
			p := reflect.New(fv.Type().Elem())
			if err := decodeValue(v, p.Elem(), nested, path, what); err != nil {
				return err
			}
			fv.Set(p)
			return nil
		case reflect.Slice:
			s := reflect.MakeSlice(fv.Type(), v.LengthInt(), v.LengthInt())
			i := 0
			for it := v.ElementIterator(); it.Next(); i++ {
				_, ev := it.Element()
				if err := decodeValue(ev, s.Index(i), nested, path.Copy().IndexInt(i), what); err != nil {
					return err
				}
			}
			fv.Set(s)
			return nil
		}
	}
	if err := gocty.FromCtyValue(v, fv.Addr().Interface()); err != nil {
		return pathError(what, path, err)
	}
	return nil
}

// encode builds an object of si's type from the struct rv.
func (si *structInfo) encode(rv reflect.Value, path cty.Path) (cty.Value, error) {
	if len(si.fields) == 0 {
		return cty.EmptyObjectVal, nil
	}
	vals := make(map[string]cty.Value, len(si.fields))
	for _, f := range si.fields {
		v, err := encodeValue(rv.FieldByIndex(f.index), f.ty, f.nested, path.Copy().GetAttr(f.name))
		if err != nil {
			return cty.NilVal, err
		}
		vals[f.name] = v
	}
	return cty.ObjectVal(vals), nil
}

func encodeValue(fv reflect.Value, ty cty.Type, nested *structInfo, path cty.Path) (cty.Value, error) {
	if fv.Type() == valueType {
		v := fv.Interface().(cty.Value)
		if v == cty.NilVal {
			return cty.NullVal(ty), nil
		}
		v, _ = v.UnmarkDeep()
		conv, err := convert.Convert(v, ty)
		if err != nil {
			return cty.NilVal, outputError(path, err)
		}
		return conv, nil
	}
	if nested != nil {
		switch fv.Kind() {
		case reflect.Struct:
			return nested.encode(fv, path)
		case reflect.Pointer:
			if fv.IsNil() {
				return cty.NullVal(ty), nil
			}
			return encodeValue(fv.Elem(), ty, nested, path)
		case reflect.Slice:
			if fv.IsNil() {
				return cty.NullVal(ty), nil
			}
			if fv.Len() == 0 {
				return cty.ListValEmpty(ty.ElementType()), nil
			}
			items := make([]cty.Value, fv.Len())
			for i := range items {
				item, err := encodeValue(fv.Index(i), ty.ElementType(), nested, path.Copy().IndexInt(i))
				if err != nil {
					return cty.NilVal, err
				}
				items[i] = item
			}
			return cty.ListVal(items), nil
		}
	}
	v, err := gocty.ToCtyValue(fv.Interface(), ty)
	if err != nil {
		return cty.NilVal, outputError(path, err)
	}
	return v, nil
}

// pathError places err at path, extended by the relative path of a
// cty.PathError inside err (gocty's and convert's errors carry one), and
// names the attribute in the message: input "a.b[0]": a string is required.
func pathError(what string, path cty.Path, err error) error {
	var pe cty.PathError
	if errors.As(err, &pe) {
		path = append(path.Copy(), pe.Path...)
		err = errors.New(pe.Error())
	}
	if len(path) == 0 {
		return err
	}
	return &attributeError{path: path, err: fmt.Errorf("%s %q: %w", what, formatPath(path), err)}
}

// outputError is an output that does not convert: the provider's fault,
// so it points at no input.
func outputError(path cty.Path, err error) error {
	var pe cty.PathError
	if errors.As(err, &pe) {
		path = append(path.Copy(), pe.Path...)
		err = errors.New(pe.Error())
	}
	return fmt.Errorf("output %q: %w", formatPath(path), err)
}

// formatPath spells a path as HCL would: a.b[0]["k"].
func formatPath(p cty.Path) string {
	var s string
	for _, step := range p {
		switch st := step.(type) {
		case cty.GetAttrStep:
			if s != "" {
				s += "."
			}
			s += st.Name
		case cty.IndexStep:
			if st.Key.Type() == cty.String {
				s += fmt.Sprintf("[%q]", st.Key.AsString())
			} else if st.Key.Type() == cty.Number {
				s += "[" + st.Key.AsBigFloat().Text('f', -1) + "]"
			}
		}
	}
	return s
}
