package dsl

import (
	"fmt"
	"sort"
	"sync"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hcldec"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// SchemaSource answers what a provider accepts. The engine implements it
// from the providers it can reach (the built-in core provider, and plugins);
// tests use fixture schemas.
type SchemaSource interface {
	// ProviderSchema returns the schema of the named provider, or ok=false
	// when the provider is not known here.
	ProviderSchema(name string) (schema *ProviderSchema, ok bool)
}

// ProviderSchema is a provider's configuration and the actions it serves.
type ProviderSchema struct {
	Version string
	Config  *BlockSchema
	Actions map[string]*ActionSchema
}

// ActionSchema describes one action: its typed inputs and outputs and how
// safe it is to repeat.
type ActionSchema struct {
	Description string
	Inputs      *BlockSchema
	Outputs     map[string]cty.Type
	// Mutating actions change a system; dry-run never calls them.
	Mutating bool
	// Idempotent actions may be repeated with the same effect; resume re-runs
	// them without asking when they were caught mid-flight.
	Idempotent bool
}

// OutputType is the object type of the action's outputs.
func (a *ActionSchema) OutputType() cty.Type {
	if len(a.Outputs) == 0 {
		return cty.EmptyObject
	}
	return cty.Object(a.Outputs)
}

// Nesting says how many times a nested block may appear.
type Nesting int

// How a nested block nests.
const (
	NestingSingle Nesting = iota // at most one block, decoded as an object
	NestingList                  // any number, decoded as a list of objects
)

// BlockSchema is the body of a provider configuration, an action's inputs
// or a nested block.
type BlockSchema struct {
	Attributes map[string]*AttributeSchema
	Blocks     map[string]*NestedBlockSchema

	once   sync.Once
	spec   hcldec.Spec
	schema *hcl.BodySchema
}

// AttributeSchema is one typed attribute.
type AttributeSchema struct {
	Type        cty.Type
	Required    bool
	Sensitive   bool
	Description string
}

// NestedBlockSchema is a block inside a body.
type NestedBlockSchema struct {
	Nesting  Nesting
	Block    *BlockSchema
	MinItems int
	MaxItems int
}

// Spec returns the hcldec specification of the body, built once.
func (b *BlockSchema) Spec() hcldec.Spec {
	b.build()
	return b.spec
}

func (b *BlockSchema) build() {
	b.once.Do(func() {
		b.spec = b.buildSpec()
		b.schema = hcldec.ImpliedSchema(b.spec)
	})
}

func (b *BlockSchema) buildSpec() hcldec.Spec {
	spec := hcldec.ObjectSpec{}
	for name, a := range b.Attributes {
		spec[name] = &hcldec.AttrSpec{Name: name, Type: a.Type, Required: a.Required}
	}
	for name, nb := range b.Blocks {
		switch nb.Nesting {
		case NestingList:
			spec[name] = &hcldec.BlockListSpec{TypeName: name, Nested: nb.Block.Spec(), MinItems: nb.MinItems, MaxItems: nb.MaxItems}
		default:
			spec[name] = &hcldec.BlockSpec{TypeName: name, Nested: nb.Block.Spec(), Required: nb.MinItems > 0}
		}
	}
	return spec
}

// Decode evaluates a body against the schema. It does what hcldec.Decode
// does with the body schema computed once, not at every call: runbooks with
// thousands of steps decode every step body at plan time.
func (b *BlockSchema) Decode(body hcl.Body, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	b.build()
	content, diags := body.Content(b.schema)
	vals := make(map[string]cty.Value, len(b.Attributes)+len(b.Blocks))
	for name, a := range b.Attributes {
		vals[name] = cty.NullVal(a.Type)
		if attr := content.Attributes[name]; attr != nil {
			v, vdiags := decodeAttr(attr, a.Type, ctx)
			diags = append(diags, vdiags...)
			vals[name] = v
		}
	}
	for name, nb := range b.Blocks {
		v, bdiags := nb.decode(content.Blocks.OfType(name), ctx, body.MissingItemRange())
		diags = append(diags, bdiags...)
		vals[name] = v
	}
	return cty.ObjectVal(vals), diags
}

func decodeAttr(attr *hcl.Attribute, ty cty.Type, ctx *hcl.EvalContext) (cty.Value, hcl.Diagnostics) {
	v, diags := attr.Expr.Value(ctx)
	if diags.HasErrors() {
		return cty.UnknownVal(ty), diags
	}
	conv, err := convert.Convert(v, ty)
	if err != nil {
		return cty.UnknownVal(ty), append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Incorrect attribute value type",
			Detail:      fmt.Sprintf("Inappropriate value for attribute %q: %s.", attr.Name, err),
			Subject:     attr.Expr.Range().Ptr(),
			Context:     hcl.RangeBetween(attr.NameRange, attr.Expr.Range()).Ptr(),
			Expression:  attr.Expr,
			EvalContext: ctx,
		})
	}
	return conv, diags
}

func (nb *NestedBlockSchema) decode(blocks hcl.Blocks, ctx *hcl.EvalContext, missing hcl.Range) (cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	ty := nb.Block.ImpliedType()
	var items []cty.Value
	for _, blk := range blocks {
		v, bdiags := nb.Block.Decode(blk.Body, ctx)
		diags = append(diags, bdiags...)
		items = append(items, v)
	}
	if len(blocks) < nb.MinItems {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Insufficient blocks",
			Detail: fmt.Sprintf("At least %d blocks are required here.", nb.MinItems), Subject: missing.Ptr()})
	}
	if nb.MaxItems > 0 && len(blocks) > nb.MaxItems {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Too many blocks",
			Detail: fmt.Sprintf("No more than %d blocks are allowed here.", nb.MaxItems), Subject: blocks[nb.MaxItems].DefRange.Ptr()})
	}
	if nb.Nesting == NestingList {
		if len(items) == 0 {
			return cty.ListValEmpty(ty), diags
		}
		return cty.ListVal(items), diags
	}
	if len(blocks) > 1 && nb.MaxItems == 0 {
		diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Duplicate block",
			Detail: "Only one block of this type is allowed here.", Subject: blocks[1].DefRange.Ptr()})
	}
	if len(items) == 0 {
		return cty.NullVal(ty), diags
	}
	return items[0], diags
}

// ImpliedType is the object type Decode produces.
func (b *BlockSchema) ImpliedType() cty.Type {
	return hcldec.ImpliedType(b.Spec())
}

// SensitivePaths lists the top-level attributes marked sensitive, sorted.
func (b *BlockSchema) SensitivePaths() []string {
	var out []string
	for name, a := range b.Attributes {
		if a.Sensitive {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// Schemas is a SchemaSource backed by a map; handy for fixtures and for
// composing sources.
type Schemas map[string]*ProviderSchema

// ProviderSchema implements SchemaSource.
func (s Schemas) ProviderSchema(name string) (*ProviderSchema, bool) {
	p, ok := s[name]
	return p, ok
}
