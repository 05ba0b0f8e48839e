package sdk

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// CheckResult is what Check knows about an Apply interrupted mid-flight.
type CheckResult = provider.CheckResult

// The answers Check gives.
const (
	Unknown    = provider.Unknown    // cannot tell: the engine asks the operator
	Applied    = provider.Applied    // the effect is in place; the outputs are what Apply would return
	NotApplied = provider.NotApplied // nothing happened; the engine runs the action again
)

// Action is one typed action. In and Out are structs whose `cty` tags name
// the input and output attributes; the action's schema is derived from
// them. Only Apply is required.
type Action[In, Out any] struct {
	Description string
	// Mutating actions change a system; dry-run never applies them.
	Mutating bool
	// Idempotent actions may be repeated with the same effect: resume runs
	// them again, without asking, when they were caught mid-flight.
	Idempotent bool

	// Apply performs the action. Its context is cancelled when the run is
	// interrupted or the step times out: return promptly then.
	Apply func(ctx context.Context, in In, r Reporter) (Out, error)

	// Plan predicts the outputs without side effects, for dry-run. known
	// lists the outputs (by cty name) that out predicts; the others are
	// unknown. Plan is only called when every input is known: otherwise,
	// and when Plan is nil, every output is unknown.
	Plan func(ctx context.Context, in In) (out Out, known []string, err error)

	// Check tells, on resume, whether an Apply interrupted at started took
	// effect, without side effects: Applied with the outputs, NotApplied,
	// or Unknown. When Check is nil the answer is Unknown.
	Check func(ctx context.Context, in In, started time.Time) (CheckResult, Out, error)
}

// ActionDef is an action ready to register with Provider.Action: an
// Action[In, Out] of any In and Out.
type ActionDef interface {
	build(name string) (*action, error)
}

// action is an Action with its types erased: it works on cty values.
type action struct {
	name   string
	schema *dsl.ActionSchema
	in     *structInfo
	out    *structInfo
	apply  func(ctx context.Context, in cty.Value, r Reporter) (cty.Value, error)
	plan   func(ctx context.Context, in cty.Value) (cty.Value, error)
	check  func(ctx context.Context, in cty.Value, started time.Time) (CheckResult, cty.Value, error)
}

func (a Action[In, Out]) build(name string) (*action, error) {
	if a.Apply == nil {
		return nil, fmt.Errorf("action %s has no Apply", name)
	}
	in, err := analyzeType[In]("action " + name + " inputs")
	if err != nil {
		return nil, err
	}
	out, err := analyzeType[Out]("action " + name + " outputs")
	if err != nil {
		return nil, err
	}
	for _, f := range in.fields {
		// A step's meta-arguments cannot be inputs, except timeout, which
		// the engine also gives to an action that declares it.
		if dsl.MetaArguments[f.name] && f.name != "timeout" {
			return nil, fmt.Errorf("action %s inputs: %q is a step meta-argument and cannot be an input", name, f.name)
		}
	}
	act := &action{
		name: name, in: in, out: out,
		schema: &dsl.ActionSchema{Description: a.Description, Inputs: in.blockSchema(), Outputs: out.outputTypes(),
			Mutating: a.Mutating, Idempotent: a.Idempotent},
	}
	decode := func(v cty.Value) (In, error) {
		var x In
		err := in.decode(v, reflect.ValueOf(&x).Elem(), nil, "input")
		return x, err
	}
	encode := func(x Out) (cty.Value, error) {
		return out.encode(reflect.ValueOf(&x).Elem(), nil)
	}
	act.apply = func(ctx context.Context, v cty.Value, r Reporter) (cty.Value, error) {
		x, err := decode(v)
		if err != nil {
			return cty.NilVal, err
		}
		y, err := a.Apply(ctx, x, r)
		if err != nil {
			return cty.NilVal, err
		}
		return encode(y)
	}
	if a.Plan != nil {
		act.plan = func(ctx context.Context, v cty.Value) (cty.Value, error) {
			x, err := decode(v)
			if err != nil {
				return cty.NilVal, err
			}
			y, known, err := a.Plan(ctx, x)
			if err != nil {
				return cty.NilVal, err
			}
			ov, err := encode(y)
			if err != nil {
				return cty.NilVal, err
			}
			return keepKnown(ov, known)
		}
	}
	if a.Check != nil {
		act.check = func(ctx context.Context, v cty.Value, started time.Time) (CheckResult, cty.Value, error) {
			x, err := decode(v)
			if err != nil {
				return Unknown, cty.NilVal, err
			}
			res, y, err := a.Check(ctx, x, started)
			if err != nil || res != Applied {
				return res, cty.NullVal(out.ty), err
			}
			ov, err := encode(y)
			return res, ov, err
		}
	}
	return act, nil
}

// keepKnown makes every attribute of the object v unknown but those named.
func keepKnown(v cty.Value, known []string) (cty.Value, error) {
	keep := make(map[string]bool, len(known))
	for _, name := range known {
		if !v.Type().HasAttribute(name) {
			return cty.NilVal, fmt.Errorf("Plan says output %q is known, but there is no such output", name)
		}
		keep[name] = true
	}
	attrs := v.Type().AttributeTypes()
	if len(attrs) == 0 {
		return v, nil
	}
	vals := make(map[string]cty.Value, len(attrs))
	for name, ty := range attrs {
		if keep[name] {
			vals[name] = v.GetAttr(name)
		} else {
			vals[name] = cty.UnknownVal(ty)
		}
	}
	return cty.ObjectVal(vals), nil
}

// unknownOutputs is the prediction when nothing is known: an object of the
// output type whose every attribute is unknown.
func (a *action) unknownOutputs() cty.Value {
	attrs := a.out.ty.AttributeTypes()
	if len(attrs) == 0 {
		return cty.EmptyObjectVal
	}
	vals := make(map[string]cty.Value, len(attrs))
	for name, ty := range attrs {
		vals[name] = cty.UnknownVal(ty)
	}
	return cty.ObjectVal(vals)
}

// ConfigDef is a provider's configuration, made by ConfigOf.
type ConfigDef interface {
	build() (*configDef, error)
}

type configDef struct {
	si        *structInfo
	configure func(ctx context.Context, v cty.Value) error
}

// ConfigOf declares the provider's configuration as the struct T (tagged
// as action inputs are) and the function that receives it. configure is
// called once, before any action, with the provider block's values (the
// zero T when the runbook has no provider block).
func ConfigOf[T any](configure func(ctx context.Context, config T) error) ConfigDef {
	return configOf[T]{fn: configure}
}

type configOf[T any] struct {
	fn func(ctx context.Context, config T) error
}

func (c configOf[T]) build() (*configDef, error) {
	if c.fn == nil {
		return nil, fmt.Errorf("config: ConfigOf was given a nil function")
	}
	si, err := analyzeType[T]("config")
	if err != nil {
		return nil, err
	}
	return &configDef{si: si, configure: func(ctx context.Context, v cty.Value) error {
		var x T
		if err := si.decode(v, reflect.ValueOf(&x).Elem(), nil, "config"); err != nil {
			return err
		}
		return c.fn(ctx, x)
	}}, nil
}

// AllOutputs names every output of out (its `cty` tags): what a Plan
// returns as known when it reads the real thing, as a read-only action's
// Plan does.
func AllOutputs(out any) []string {
	t := reflect.TypeOf(out)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == nil || t.Kind() != reflect.Struct {
		return nil
	}
	var names []string
	for i := range t.NumField() {
		if name, _, _ := strings.Cut(t.Field(i).Tag.Get("cty"), ","); name != "" {
			names = append(names, name)
		}
	}
	return names
}
