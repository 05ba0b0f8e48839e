package runbook

import (
	"encoding/json"
	"fmt"
	"sort"
	"sync"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/runbook-dev/runbook/dsl"
)

// stepStore holds the outputs of finished steps for expressions to read.
// It is keyed by full step address so that one store serves the root and
// every module scope.
type stepStore struct {
	mu     sync.RWMutex
	values map[string]cty.Value
	g      *Graph
	types  func(*Node) cty.Type
}

func newStepStore(g *Graph, types func(*Node) cty.Type) *stepStore {
	return &stepStore{values: map[string]cty.Value{}, g: g, types: types}
}

func (s *stepStore) set(addr string, v cty.Value) {
	s.mu.Lock()
	s.values[addr] = v
	s.mu.Unlock()
}

// view returns the StepValues of the module at path.
func (s *stepStore) view(path []string) dsl.StepValues {
	return storeView{store: s, path: path}
}

type storeView struct {
	store *stepStore
	path  []string
}

// StepValue returns a finished step's outputs. A step that did not
// succeed reads as an object of nulls (a map of them for for_each), which
// is what a finally step sees of a step that failed.
func (v storeView) StepValue(name string) cty.Value {
	addr := StepAddr(v.path, name)
	v.store.mu.RLock()
	val, ok := v.store.values[addr]
	v.store.mu.RUnlock()
	if ok {
		return val
	}
	n := v.store.g.Node(addr)
	if n == nil {
		return cty.DynamicVal
	}
	ty := v.store.types(n)
	if n.Step.ForEach != nil {
		return cty.EmptyObjectVal
	}
	return nullObject(ty)
}

func nullObject(ty cty.Type) cty.Value {
	if !ty.IsObjectType() {
		return cty.NullVal(ty)
	}
	attrs := map[string]cty.Value{}
	for name, at := range ty.AttributeTypes() {
		attrs[name] = cty.NullVal(at)
	}
	return cty.ObjectVal(attrs)
}

// encodedValue is one value in the journal: its type and either the value
// in clear or, for a sensitive one, the sealed value.
type encodedValue struct {
	Type   json.RawMessage `json:"type"`
	Value  json.RawMessage `json:"value,omitempty"`
	Sealed []byte          `json:"sealed,omitempty"`
	// Unknown is set for a dry-run's predicted value that is not known.
	Unknown bool `json:"unknown,omitempty"`
}

// encodeValues turns named values into journal JSON, sealing every value
// that carries the sensitive mark anywhere inside it.
func encodeValues(vals map[string]cty.Value, sealer *Sealer) (json.RawMessage, error) {
	out := make(map[string]encodedValue, len(vals))
	for name, v := range vals {
		raw, marks := v.UnmarkDeep()
		ty, err := ctyjson.MarshalType(raw.Type())
		if err != nil {
			return nil, err
		}
		ev := encodedValue{Type: ty}
		if !raw.IsWhollyKnown() {
			ev.Unknown = true
			out[name] = ev
			continue
		}
		b, err := ctyjson.Marshal(raw, raw.Type())
		if err != nil {
			return nil, fmt.Errorf("value %q: %w", name, err)
		}
		if len(marks) > 0 {
			ev.Sealed = sealer.Seal(b)
		} else {
			ev.Value = b
		}
		out[name] = ev
	}
	return json.Marshal(out)
}

// decodeValues reverses encodeValues; unsealed values are marked sensitive
// again.
func decodeValues(data json.RawMessage, sealer *Sealer) (map[string]cty.Value, error) {
	if len(data) == 0 {
		return nil, nil
	}
	var in map[string]encodedValue
	if err := json.Unmarshal(data, &in); err != nil {
		return nil, err
	}
	out := make(map[string]cty.Value, len(in))
	for name, ev := range in {
		ty, err := ctyjson.UnmarshalType(ev.Type)
		if err != nil {
			return nil, err
		}
		if ev.Unknown {
			out[name] = cty.UnknownVal(ty)
			continue
		}
		b, sensitive := ev.Value, false
		if ev.Sealed != nil && sealer == nil { // a reader without the key
			out[name] = cty.UnknownVal(ty).Mark(dsl.SensitiveMark)
			continue
		}
		if ev.Sealed != nil {
			if b, err = sealer.Open(ev.Sealed); err != nil {
				return nil, err
			}
			sensitive = true
		}
		v, err := ctyjson.Unmarshal(b, ty)
		if err != nil {
			return nil, err
		}
		if sensitive {
			v = v.Mark(dsl.SensitiveMark)
		}
		out[name] = v
	}
	return out, nil
}

// objectValues splits an object into its attributes for encoding.
func objectValues(v cty.Value) map[string]cty.Value {
	if v.IsNull() || !v.Type().IsObjectType() {
		return map[string]cty.Value{}
	}
	if !v.IsKnown() { // a dry-run's prediction: every attribute unknown
		out := map[string]cty.Value{}
		for name, ty := range v.Type().AttributeTypes() {
			out[name] = cty.UnknownVal(ty)
		}
		return out
	}
	raw, marks := v.Unmark()
	out := raw.AsValueMap()
	if out == nil {
		out = map[string]cty.Value{}
	}
	for k, x := range out {
		out[k] = x.WithMarks(marks)
	}
	return out
}

// itemsObject builds a for_each step's value from its items' outputs.
func itemsObject(items map[string]cty.Value) cty.Value {
	if len(items) == 0 {
		return cty.EmptyObjectVal
	}
	keys := make([]string, 0, len(items))
	for k := range items {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make(map[string]cty.Value, len(items))
	for _, k := range keys {
		attrs[k] = items[k]
	}
	return cty.ObjectVal(attrs)
}
