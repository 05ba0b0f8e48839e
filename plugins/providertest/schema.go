package providertest

import (
	"fmt"
	"sort"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
)

// Schema is the schema the test provider declares, written out by hand:
// the suite checks that the provider's Schema returns exactly this.
func Schema() *dsl.ProviderSchema {
	str := func(desc string) *dsl.AttributeSchema {
		return &dsl.AttributeSchema{Type: cty.String, Description: desc}
	}
	attrs := func(kv ...any) map[string]*dsl.AttributeSchema {
		m := map[string]*dsl.AttributeSchema{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1].(*dsl.AttributeSchema)
		}
		return m
	}
	block := func(a map[string]*dsl.AttributeSchema, b map[string]*dsl.NestedBlockSchema) *dsl.BlockSchema {
		if a == nil {
			a = map[string]*dsl.AttributeSchema{}
		}
		if b == nil {
			b = map[string]*dsl.NestedBlockSchema{}
		}
		return &dsl.BlockSchema{Attributes: a, Blocks: b}
	}

	// echo's nested block, single and repeated.
	sub := block(attrs("value", &dsl.AttributeSchema{Type: cty.Number}), nil)
	echoBlock := func() *dsl.BlockSchema {
		return block(attrs(
			"id", &dsl.AttributeSchema{Type: cty.String, Required: true, Description: "Required in every block."},
			"secret", &dsl.AttributeSchema{Type: cty.String, Sensitive: true},
		), map[string]*dsl.NestedBlockSchema{"sub": {Nesting: dsl.NestingList, Block: sub}})
	}
	objectType := cty.Object(map[string]cty.Type{
		"name":  cty.String,
		"tags":  cty.List(cty.String),
		"inner": cty.Object(map[string]cty.Type{"flag": cty.Bool, "nums": cty.List(cty.Number)}),
		"attrs": cty.Map(cty.Number),
	})
	tupleType := cty.Tuple([]cty.Type{cty.String, cty.Number, cty.Bool})
	blockType := cty.Object(map[string]cty.Type{
		"id": cty.String, "secret": cty.String,
		"sub": cty.List(cty.Object(map[string]cty.Type{"value": cty.Number})),
	})
	echoIn := block(attrs(
		"string", str("A string."),
		"number", &dsl.AttributeSchema{Type: cty.Number, Description: "A number of any size or precision."},
		"int", &dsl.AttributeSchema{Type: cty.Number, Description: "A whole number."},
		"bool", &dsl.AttributeSchema{Type: cty.Bool},
		"list", &dsl.AttributeSchema{Type: cty.List(cty.String)},
		"set", &dsl.AttributeSchema{Type: cty.Set(cty.String)},
		"map", &dsl.AttributeSchema{Type: cty.Map(cty.String)},
		"object", &dsl.AttributeSchema{Type: objectType},
		"tuple", &dsl.AttributeSchema{Type: tupleType},
		"any", &dsl.AttributeSchema{Type: cty.DynamicPseudoType, Description: "A value of any type."},
	), map[string]*dsl.NestedBlockSchema{
		"single": {Nesting: dsl.NestingSingle, Block: echoBlock()},
		"blocks": {Nesting: dsl.NestingList, Block: echoBlock()},
	})
	echoOut := map[string]cty.Type{
		"string": cty.String, "number": cty.Number, "int": cty.Number, "bool": cty.Bool,
		"list": cty.List(cty.String), "set": cty.Set(cty.String), "map": cty.Map(cty.String),
		"object": objectType, "tuple": tupleType, "any": cty.DynamicPseudoType,
		"single": blockType, "blocks": cty.List(blockType),
	}

	return &dsl.ProviderSchema{
		Version: "1.0.0",
		Config: block(attrs(
			"label", str(`A label; the value "invalid" makes Configure fail.`),
			"token", &dsl.AttributeSchema{Type: cty.String, Sensitive: true, Description: "A secret; Configure's errors must not show it."},
		), nil),
		Actions: map[string]*dsl.ActionSchema{
			"echo": {Description: "Returns its inputs as its outputs.", Idempotent: true, Inputs: echoIn, Outputs: echoOut},
			"block": {
				Description: "Blocks until its context is cancelled, then writes the time to the marker file.",
				Inputs: block(attrs("marker", &dsl.AttributeSchema{Type: cty.String, Required: true,
					Description: "A file written when the action sees its context cancelled: the time it saw it, RFC 3339 with nanoseconds."}), nil),
				Outputs: map[string]cty.Type{},
			},
			"big": {
				Description: "Returns a large string.", Idempotent: true,
				Inputs:  block(attrs("size", &dsl.AttributeSchema{Type: cty.Number, Description: "The output's size in bytes; 10 MiB when unset."}), nil),
				Outputs: map[string]cty.Type{"data": cty.String, "size": cty.Number},
			},
			"fail": {
				Description: "Fails with the message, retryable or not, pointing at the path.",
				Inputs: block(attrs(
					"message", &dsl.AttributeSchema{Type: cty.String, Required: true},
					"retryable", &dsl.AttributeSchema{Type: cty.Bool},
					"path", &dsl.AttributeSchema{Type: cty.List(cty.String),
						Description: "The attribute path the error points at: names, integers for list indexes, #key for map keys."},
				), nil),
				Outputs: map[string]cty.Type{},
			},
			"log_secret": {
				Description: "Logs its sensitive inputs and fails with them in the message, in Plan, Apply and Check.",
				Inputs: block(attrs(
					"secret", &dsl.AttributeSchema{Type: cty.String, Required: true, Sensitive: true},
					"note", str("Not sensitive in the schema; a request's SensitivePaths may make it so."),
				), map[string]*dsl.NestedBlockSchema{"credentials": {Nesting: dsl.NestingSingle, Block: block(attrs(
					"user", &dsl.AttributeSchema{Type: cty.String},
					"token", &dsl.AttributeSchema{Type: cty.String, Sensitive: true},
				), nil)}}),
				Outputs: map[string]cty.Type{},
			},
			"touch": {
				Description: "Writes content to the file at path.", Mutating: true, Idempotent: true,
				Inputs: block(attrs(
					"path", &dsl.AttributeSchema{Type: cty.String, Required: true},
					"content", &dsl.AttributeSchema{Type: cty.String},
				), nil),
				Outputs: map[string]cty.Type{"path": cty.String, "size": cty.Number},
			},
			"started": {
				Description: "Check answers Applied with the time the interrupted attempt started.",
				Inputs:      block(nil, nil), Outputs: map[string]cty.Type{"started": cty.String},
			},
			"crash": {
				Description: "Exits the provider's process with status 3 in the middle of Apply. Never call it in-process.",
				Mutating:    true, Inputs: block(nil, nil), Outputs: map[string]cty.Type{},
			},
		},
	}
}

// DiffSchema lists the differences between two provider schemas, one line
// each, sorted; none when they are equal. A nil block or map equals an
// empty one, since the wire cannot tell them apart.
func DiffSchema(want, got *dsl.ProviderSchema) []string {
	var d []string
	add := func(format string, args ...any) { d = append(d, fmt.Sprintf(format, args...)) }
	if want == nil || got == nil {
		if want != got {
			add("schema: want %v, got %v", want, got)
		}
		return d
	}
	if want.Version != got.Version {
		add("version: want %q, got %q", want.Version, got.Version)
	}
	diffBlock("config", want.Config, got.Config, add)
	for _, name := range keys(want.Actions, got.Actions) {
		w, g := want.Actions[name], got.Actions[name]
		switch {
		case g == nil:
			add("action %s: missing", name)
			continue
		case w == nil:
			add("action %s: not declared", name)
			continue
		}
		if w.Description != g.Description {
			add("action %s: description: want %q, got %q", name, w.Description, g.Description)
		}
		if w.Mutating != g.Mutating || w.Idempotent != g.Idempotent {
			add("action %s: mutating, idempotent: want %v, %v, got %v, %v", name, w.Mutating, w.Idempotent, g.Mutating, g.Idempotent)
		}
		diffBlock("action "+name+" inputs", w.Inputs, g.Inputs, add)
		for _, o := range keys(w.Outputs, g.Outputs) {
			wt, wok := w.Outputs[o]
			gt, gok := g.Outputs[o]
			switch {
			case !gok:
				add("action %s output %s: missing", name, o)
			case !wok:
				add("action %s output %s: not declared", name, o)
			case !wt.Equals(gt):
				add("action %s output %s: want %#v, got %#v", name, o, wt, gt)
			}
		}
	}
	sort.Strings(d)
	return d
}

func diffBlock(where string, want, got *dsl.BlockSchema, add func(string, ...any)) {
	if want == nil {
		want = &dsl.BlockSchema{}
	}
	if got == nil {
		got = &dsl.BlockSchema{}
	}
	for _, name := range keys(want.Attributes, got.Attributes) {
		w, g := want.Attributes[name], got.Attributes[name]
		switch {
		case g == nil:
			add("%s: attribute %s: missing", where, name)
		case w == nil:
			add("%s: attribute %s: not declared", where, name)
		default:
			if !w.Type.Equals(g.Type) {
				add("%s: attribute %s: type: want %#v, got %#v", where, name, w.Type, g.Type)
			}
			if w.Required != g.Required || w.Sensitive != g.Sensitive {
				add("%s: attribute %s: required, sensitive: want %v, %v, got %v, %v", where, name, w.Required, w.Sensitive, g.Required, g.Sensitive)
			}
			if w.Description != g.Description {
				add("%s: attribute %s: description: want %q, got %q", where, name, w.Description, g.Description)
			}
		}
	}
	for _, name := range keys(want.Blocks, got.Blocks) {
		w, g := want.Blocks[name], got.Blocks[name]
		switch {
		case g == nil:
			add("%s: block %s: missing", where, name)
		case w == nil:
			add("%s: block %s: not declared", where, name)
		default:
			if w.Nesting != g.Nesting || w.MinItems != g.MinItems || w.MaxItems != g.MaxItems {
				add("%s: block %s: nesting, min, max: want %v, %d, %d, got %v, %d, %d", where, name,
					w.Nesting, w.MinItems, w.MaxItems, g.Nesting, g.MinItems, g.MaxItems)
			}
			diffBlock(where+": block "+name, w.Block, g.Block, add)
		}
	}
}

// keys returns the keys of both maps, sorted.
func keys[V any](a, b map[string]V) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]V{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}
