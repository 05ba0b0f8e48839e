package grpcplugin

import (
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"
	ctymsgpack "github.com/zclconf/go-cty/cty/msgpack"

	"github.com/runbook-dev/runbook/dsl"
	pb "github.com/runbook-dev/runbook/plugins/proto/pluginv1"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// The converters keep generated protobuf types out of every other package
// (as terraform-plugin-go does): the engine and provider authors see only
// provider.* and dsl.* types.

// encodeValue puts a cty value on the wire: msgpack plus its type, so that
// unknowns and every cty type survive. Marks must be removed by the caller.
func encodeValue(v cty.Value) (*pb.DynamicValue, error) {
	if v == cty.NilVal {
		return nil, nil
	}
	ty := v.Type()
	tj, err := ctyjson.MarshalType(ty)
	if err != nil {
		return nil, err
	}
	mp, err := ctymsgpack.Marshal(v, ty)
	if err != nil {
		return nil, err
	}
	return &pb.DynamicValue{Msgpack: mp, TypeJson: tj}, nil
}

func decodeValue(dv *pb.DynamicValue) (cty.Value, error) {
	if dv == nil {
		return cty.NilVal, nil
	}
	ty, err := ctyjson.UnmarshalType(dv.TypeJson)
	if err != nil {
		return cty.NilVal, fmt.Errorf("value type: %w", err)
	}
	v, err := ctymsgpack.Unmarshal(dv.Msgpack, ty)
	if err != nil {
		return cty.NilVal, fmt.Errorf("value: %w", err)
	}
	return v, nil
}

func encodePath(p cty.Path) *pb.AttributePath {
	if len(p) == 0 {
		return nil
	}
	out := &pb.AttributePath{}
	for _, step := range p {
		switch s := step.(type) {
		case cty.GetAttrStep:
			out.Steps = append(out.Steps, &pb.AttributePath_Step{Selector: &pb.AttributePath_Step_AttributeName{AttributeName: s.Name}})
		case cty.IndexStep:
			switch {
			case s.Key.Type() == cty.String:
				out.Steps = append(out.Steps, &pb.AttributePath_Step{Selector: &pb.AttributePath_Step_ElementKeyString{ElementKeyString: s.Key.AsString()}})
			case s.Key.Type() == cty.Number:
				i, _ := s.Key.AsBigFloat().Int64()
				out.Steps = append(out.Steps, &pb.AttributePath_Step{Selector: &pb.AttributePath_Step_ElementKeyInt{ElementKeyInt: i}})
			}
		}
	}
	return out
}

func decodePath(p *pb.AttributePath) cty.Path {
	if p == nil {
		return nil
	}
	var out cty.Path
	for _, s := range p.Steps {
		switch sel := s.Selector.(type) {
		case *pb.AttributePath_Step_AttributeName:
			out = out.GetAttr(sel.AttributeName)
		case *pb.AttributePath_Step_ElementKeyString:
			out = out.Index(cty.StringVal(sel.ElementKeyString))
		case *pb.AttributePath_Step_ElementKeyInt:
			out = out.Index(cty.NumberIntVal(sel.ElementKeyInt))
		}
	}
	return out
}

func encodePaths(ps []cty.Path) []*pb.AttributePath {
	out := make([]*pb.AttributePath, 0, len(ps))
	for _, p := range ps {
		out = append(out, encodePath(p))
	}
	return out
}

func decodePaths(ps []*pb.AttributePath) []cty.Path {
	out := make([]cty.Path, 0, len(ps))
	for _, p := range ps {
		out = append(out, decodePath(p))
	}
	return out
}

// encodeError carries a provider error's message, retryable flag and
// attribute across; other errors travel as non-retryable messages.
func encodeError(err error) *pb.Error {
	if err == nil {
		return nil
	}
	var pe *provider.Error
	if errors.As(err, &pe) {
		return &pb.Error{Message: err.Error(), Retryable: pe.Retryable, Attribute: encodePath(pe.Attribute)}
	}
	return &pb.Error{Message: err.Error()}
}

func decodeError(e *pb.Error) error {
	if e == nil {
		return nil
	}
	return &provider.Error{Message: e.Message, Retryable: e.Retryable, Attribute: decodePath(e.Attribute)}
}

// Diagnostics cross as severity, summary, detail and attribute path; the
// host attaches the user's source range.
func encodeDiags(diags []provider.Diagnostic) []*pb.Diagnostic {
	out := make([]*pb.Diagnostic, 0, len(diags))
	for _, d := range diags {
		sev := pb.Diagnostic_ERROR
		if d.Severity == hcl.DiagWarning {
			sev = pb.Diagnostic_WARNING
		}
		out = append(out, &pb.Diagnostic{Severity: sev, Summary: d.Summary, Detail: d.Detail, Attribute: encodePath(d.Attribute)})
	}
	return out
}

func decodeDiags(in []*pb.Diagnostic) []provider.Diagnostic {
	out := make([]provider.Diagnostic, 0, len(in))
	for _, d := range in {
		sev := hcl.DiagError
		if d.Severity == pb.Diagnostic_WARNING {
			sev = hcl.DiagWarning
		}
		out = append(out, provider.Diagnostic{Severity: sev, Summary: d.Summary, Detail: d.Detail, Attribute: decodePath(d.Attribute)})
	}
	return out
}

func encodeSchema(s *dsl.ProviderSchema) (*pb.Schema, error) {
	out := &pb.Schema{Version: s.Version, Actions: map[string]*pb.Schema_Action{}}
	var err error
	if out.Config, err = encodeBlock(s.Config); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	for name, a := range s.Actions {
		pa := &pb.Schema_Action{Description: a.Description, Mutating: a.Mutating, Idempotent: a.Idempotent, Outputs: map[string][]byte{}}
		if pa.Inputs, err = encodeBlock(a.Inputs); err != nil {
			return nil, fmt.Errorf("action %s: %w", name, err)
		}
		for o, ty := range a.Outputs {
			if pa.Outputs[o], err = ctyjson.MarshalType(ty); err != nil {
				return nil, fmt.Errorf("action %s output %s: %w", name, o, err)
			}
		}
		out.Actions[name] = pa
	}
	return out, nil
}

func encodeBlock(b *dsl.BlockSchema) (*pb.Schema_Block, error) {
	out := &pb.Schema_Block{Attributes: map[string]*pb.Schema_Attribute{}, Blocks: map[string]*pb.Schema_NestedBlock{}}
	if b == nil {
		return out, nil
	}
	for name, a := range b.Attributes {
		tj, err := ctyjson.MarshalType(a.Type)
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", name, err)
		}
		out.Attributes[name] = &pb.Schema_Attribute{TypeJson: tj, Required: a.Required, Sensitive: a.Sensitive, Description: a.Description}
	}
	for name, nb := range b.Blocks {
		inner, err := encodeBlock(nb.Block)
		if err != nil {
			return nil, fmt.Errorf("block %s: %w", name, err)
		}
		nesting := pb.Schema_NestedBlock_SINGLE
		if nb.Nesting == dsl.NestingList {
			nesting = pb.Schema_NestedBlock_LIST
		}
		out.Blocks[name] = &pb.Schema_NestedBlock{Nesting: nesting, Block: inner, MinItems: int64(nb.MinItems), MaxItems: int64(nb.MaxItems)}
	}
	return out, nil
}

func decodeSchema(s *pb.Schema) (*dsl.ProviderSchema, error) {
	if s == nil {
		return nil, errors.New("the provider sent no schema")
	}
	out := &dsl.ProviderSchema{Version: s.Version, Actions: map[string]*dsl.ActionSchema{}}
	var err error
	if out.Config, err = decodeBlock(s.Config); err != nil {
		return nil, err
	}
	for name, a := range s.Actions {
		as := &dsl.ActionSchema{Description: a.Description, Mutating: a.Mutating, Idempotent: a.Idempotent, Outputs: map[string]cty.Type{}}
		if as.Inputs, err = decodeBlock(a.Inputs); err != nil {
			return nil, fmt.Errorf("action %s: %w", name, err)
		}
		for o, tj := range a.Outputs {
			if as.Outputs[o], err = ctyjson.UnmarshalType(tj); err != nil {
				return nil, fmt.Errorf("action %s output %s: %w", name, o, err)
			}
		}
		out.Actions[name] = as
	}
	return out, nil
}

func decodeBlock(b *pb.Schema_Block) (*dsl.BlockSchema, error) {
	out := &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{}, Blocks: map[string]*dsl.NestedBlockSchema{}}
	if b == nil {
		return out, nil
	}
	for name, a := range b.Attributes {
		ty, err := ctyjson.UnmarshalType(a.TypeJson)
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
		if nb.Nesting == pb.Schema_NestedBlock_LIST {
			nesting = dsl.NestingList
		}
		out.Blocks[name] = &dsl.NestedBlockSchema{Nesting: nesting, Block: inner, MinItems: int(nb.MinItems), MaxItems: int(nb.MaxItems)}
	}
	return out, nil
}
