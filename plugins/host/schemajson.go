package host

import (
	"encoding/json"
	"fmt"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/runbook-dev/runbook/dsl"
)

// SchemaFormatVersion is the format_version of `runbook providers schema
// -json`; it changes only when a field changes meaning or goes away.
const SchemaFormatVersion = "1"

// SchemasJSON is the document `runbook providers schema -json` prints
// (docs/providers-schema-json.md).
type SchemasJSON struct {
	FormatVersion string                   `json:"format_version"`
	Providers     map[string]*ProviderJSON `json:"providers"`
}

// ProviderJSON is one provider's schema.
type ProviderJSON struct {
	Version string                 `json:"version"`
	Config  *BlockJSON             `json:"config"`
	Actions map[string]*ActionJSON `json:"actions"`
}

// ActionJSON is one action: typed inputs and outputs, and how safe it is
// to repeat.
type ActionJSON struct {
	Description string                     `json:"description"`
	Mutating    bool                       `json:"mutating"`
	Idempotent  bool                       `json:"idempotent"`
	Inputs      *BlockJSON                 `json:"inputs"`
	Outputs     map[string]json.RawMessage `json:"outputs"` // name -> cty JSON type
}

// BlockJSON is a body: attributes and nested blocks.
type BlockJSON struct {
	Attributes map[string]*AttributeJSON   `json:"attributes"`
	Blocks     map[string]*NestedBlockJSON `json:"blocks"`
}

// AttributeJSON is one attribute; Type is a cty type in cty's JSON form
// ("string", ["list","number"], ["object",{"a":"bool"}]).
type AttributeJSON struct {
	Type        json.RawMessage `json:"type"`
	Required    bool            `json:"required"`
	Sensitive   bool            `json:"sensitive"`
	Description string          `json:"description"`
}

// NestedBlockJSON is a nested block: "single" (at most one, an object) or
// "list" (any number), with its bounds (0 for none).
type NestedBlockJSON struct {
	Nesting  string     `json:"nesting"`
	MinItems int        `json:"min_items"`
	MaxItems int        `json:"max_items"`
	Block    *BlockJSON `json:"block"`
}

// EncodeSchema renders a provider schema in the JSON shape.
func EncodeSchema(s *dsl.ProviderSchema) (*ProviderJSON, error) {
	out := &ProviderJSON{Version: s.Version, Actions: map[string]*ActionJSON{}}
	var err error
	if out.Config, err = encodeBlock(s.Config); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	for name, a := range s.Actions {
		aj := &ActionJSON{Description: a.Description, Mutating: a.Mutating, Idempotent: a.Idempotent,
			Outputs: map[string]json.RawMessage{}}
		if aj.Inputs, err = encodeBlock(a.Inputs); err != nil {
			return nil, fmt.Errorf("action %s: %w", name, err)
		}
		for o, ty := range a.Outputs {
			if aj.Outputs[o], err = ctyjson.MarshalType(ty); err != nil {
				return nil, fmt.Errorf("action %s output %s: %w", name, o, err)
			}
		}
		out.Actions[name] = aj
	}
	return out, nil
}

func encodeBlock(b *dsl.BlockSchema) (*BlockJSON, error) {
	out := &BlockJSON{Attributes: map[string]*AttributeJSON{}, Blocks: map[string]*NestedBlockJSON{}}
	if b == nil {
		return out, nil
	}
	for name, a := range b.Attributes {
		ty, err := ctyjson.MarshalType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out.Attributes[name] = &AttributeJSON{Type: ty, Required: a.Required, Sensitive: a.Sensitive, Description: a.Description}
	}
	for name, nb := range b.Blocks {
		inner, err := encodeBlock(nb.Block)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", name, err)
		}
		nesting := "single"
		if nb.Nesting == dsl.NestingList {
			nesting = "list"
		}
		out.Blocks[name] = &NestedBlockJSON{Nesting: nesting, MinItems: nb.MinItems, MaxItems: nb.MaxItems, Block: inner}
	}
	return out, nil
}

// DecodeSchema is EncodeSchema's inverse.
func DecodeSchema(p *ProviderJSON) (*dsl.ProviderSchema, error) {
	out := &dsl.ProviderSchema{Version: p.Version, Actions: map[string]*dsl.ActionSchema{}}
	var err error
	if out.Config, err = decodeBlock(p.Config); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	for name, a := range p.Actions {
		as := &dsl.ActionSchema{Description: a.Description, Mutating: a.Mutating, Idempotent: a.Idempotent,
			Outputs: make(map[string]cty.Type, len(a.Outputs))}
		if as.Inputs, err = decodeBlock(a.Inputs); err != nil {
			return nil, fmt.Errorf("action %s: %w", name, err)
		}
		for o, raw := range a.Outputs {
			if as.Outputs[o], err = ctyjson.UnmarshalType(raw); err != nil {
				return nil, fmt.Errorf("action %s output %s: %w", name, o, err)
			}
		}
		out.Actions[name] = as
	}
	return out, nil
}

func decodeBlock(b *BlockJSON) (*dsl.BlockSchema, error) {
	// Empty maps, not nil ones, as the gRPC adapter decodes a schema.
	out := &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{}, Blocks: map[string]*dsl.NestedBlockSchema{}}
	if b == nil {
		return out, nil
	}
	for name, a := range b.Attributes {
		ty, err := ctyjson.UnmarshalType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out.Attributes[name] = &dsl.AttributeSchema{Type: ty, Required: a.Required, Sensitive: a.Sensitive, Description: a.Description}
	}
	for name, nb := range b.Blocks {
		inner, err := decodeBlock(nb.Block)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", name, err)
		}
		nesting := dsl.NestingSingle
		switch nb.Nesting {
		case "single":
		case "list":
			nesting = dsl.NestingList
		default:
			return nil, fmt.Errorf("block %s: unknown nesting %q", name, nb.Nesting)
		}
		out.Blocks[name] = &dsl.NestedBlockSchema{Nesting: nesting, MinItems: nb.MinItems, MaxItems: nb.MaxItems, Block: inner}
	}
	return out, nil
}
