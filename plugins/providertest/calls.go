package providertest

import (
	"context"
	"fmt"
	"sync"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
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

// Apply runs one action and returns its outputs, the events it sent and
// its error, as a provider test wants to look at them.
func Apply(ctx context.Context, p provider.Provider, action string, inputs cty.Value) (cty.Value, []provider.Event, error) {
	var mu sync.Mutex
	var events []provider.Event
	resp, err := p.Apply(ctx, &provider.Request{Action: action, Inputs: inputs, Events: func(ev provider.Event) {
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}})
	mu.Lock()
	defer mu.Unlock()
	out := cty.NilVal
	if resp != nil {
		out = resp.Outputs
	}
	return out, events, err
}
