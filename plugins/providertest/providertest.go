package providertest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// The sensitive values the suite hands the test provider; none may appear
// in a log event or an error message. Harnesses may look for them in
// other places (a plugin's stderr).
const (
	Secret      = "s3cr3t-Pa55/wörd-7781"
	SecretNote  = "note-that-is-secret-4412"
	SecretToken = "tok-ABCDEF-909090"
)

// CancelBound is how long the suite lets a cancellation take to reach the
// provider and its Apply to return. The contract asks for well under a
// second; the bound is generous so that a loaded machine does not fail the
// suite.
const CancelBound = 5 * time.Second

// Run runs the conformance suite against providers of the test provider
// (see the package documentation) that newProvider returns, a new one for
// each subtest. Run closes them when the subtest ends.
func Run(t *testing.T, newProvider func(t *testing.T) provider.Provider) {
	s := &suite{newProvider: newProvider, schema: Schema()}
	t.Run("Schema", s.testSchema)
	t.Run("Configure", s.testConfigure)
	t.Run("Echo", s.testEcho)
	t.Run("Unicode", s.testUnicode)
	t.Run("Cancel", s.testCancel)
	t.Run("Stop", s.testStop)
	t.Run("BigOutput", s.testBig)
	t.Run("BigInput", s.testBigInput)
	t.Run("Errors", s.testErrors)
	t.Run("InputErrors", s.testInputErrors)
	t.Run("Sensitive", s.testSensitive)
	t.Run("Check", s.testCheck)
	t.Run("CheckStarted", s.testCheckStarted)
	t.Run("PlanUnknown", s.testPlanUnknown)
}

type suite struct {
	newProvider func(t *testing.T) provider.Provider
	schema      *dsl.ProviderSchema
}

// start returns a new provider, configured.
func (s *suite) start(t *testing.T) provider.Provider {
	t.Helper()
	p := s.fresh(t)
	cfg := cty.ObjectVal(map[string]cty.Value{"label": cty.StringVal("conformance"), "token": cty.NullVal(cty.String)})
	if err := p.Configure(context.Background(), cfg); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	return p
}

func (s *suite) fresh(t *testing.T) provider.Provider {
	t.Helper()
	p := s.newProvider(t)
	if p == nil {
		t.Fatal("newProvider returned nil")
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return p
}

// inputs builds an object of the action's input type as the engine does:
// every attribute present, unset ones null, unset blocks null (single) or
// empty (list).
func (s *suite) inputs(t *testing.T, action string, set map[string]cty.Value) cty.Value {
	t.Helper()
	as := s.schema.Actions[action]
	if as == nil {
		t.Fatalf("the test provider has no action %q", action)
	}
	want := as.Inputs.ImpliedType()
	vals := map[string]cty.Value{}
	for name, ty := range want.AttributeTypes() {
		vals[name] = cty.NullVal(ty)
		if nb := as.Inputs.Blocks[name]; nb != nil && nb.Nesting == dsl.NestingList {
			vals[name] = cty.ListValEmpty(ty.ElementType())
		}
	}
	for name, v := range set {
		ty, ok := want.AttributeTypes()[name]
		if !ok {
			t.Fatalf("test.%s has no input %q", action, name)
		}
		conv, err := convert.Convert(v, ty)
		if err != nil {
			t.Fatalf("input %s: %v", name, err)
		}
		vals[name] = conv
	}
	return cty.ObjectVal(vals)
}

func (s *suite) request(t *testing.T, action string, set map[string]cty.Value) *provider.Request {
	t.Helper()
	return &provider.Request{Action: action, Inputs: s.inputs(t, action, set), RunID: "run-conformance", Step: "step.conformance"}
}

// outputsOK asserts that v is an object of the action's output type (an
// "any" output holds a value of its own type).
func (s *suite) outputsOK(t *testing.T, action string, v cty.Value) {
	t.Helper()
	want := s.schema.Actions[action].OutputType()
	if v == cty.NilVal || !v.Type().IsObjectType() {
		t.Fatalf("outputs %#v are not an object", v)
	}
	if errs := v.Type().TestConformance(want); len(errs) > 0 {
		t.Fatalf("outputs of type %#v do not conform to %#v: %v", v.Type(), want, errors.Join(errs...))
	}
	if len(v.Type().AttributeTypes()) != len(want.AttributeTypes()) {
		t.Fatalf("outputs have attributes %v, want %v", attrNames(v.Type()), attrNames(want))
	}
}

func attrNames(ty cty.Type) []string {
	var out []string
	for name := range ty.AttributeTypes() {
		out = append(out, name)
	}
	return out
}

func (s *suite) apply(t *testing.T, p provider.Provider, r *provider.Request) cty.Value {
	t.Helper()
	resp, err := p.Apply(context.Background(), r)
	if err != nil {
		t.Fatalf("Apply %s: %v", r.Action, err)
	}
	if resp == nil {
		t.Fatalf("Apply %s: no response and no error", r.Action)
	}
	s.outputsOK(t, r.Action, resp.Outputs)
	return resp.Outputs
}

// applyErr calls Apply expecting an error and returns it as a provider
// Error.
func applyErr(t *testing.T, p provider.Provider, r *provider.Request) *provider.Error {
	t.Helper()
	resp, err := p.Apply(context.Background(), r)
	if err == nil {
		t.Fatalf("Apply %s succeeded with %#v, want an error", r.Action, resp)
	}
	return asProviderError(t, err)
}

func asProviderError(t *testing.T, err error) *provider.Error {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %q is a %T, not a *provider.Error", err, err)
	}
	return pe
}

func wantEqual(t *testing.T, what string, got, want cty.Value) {
	t.Helper()
	if !got.RawEquals(want) {
		t.Errorf("%s:\n got %#v\nwant %#v", what, got, want)
	}
}

// recorder collects a request's events.
type recorder struct {
	mu  sync.Mutex
	all []provider.Event
}

func (r *recorder) add(ev provider.Event) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.all = append(r.all, ev)
}

func (r *recorder) events() []provider.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]provider.Event(nil), r.all...)
}

func (s *suite) testSchema(t *testing.T) {
	p := s.fresh(t)
	got, err := p.Schema(context.Background())
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	for _, d := range DiffSchema(s.schema, got) {
		t.Error(d)
	}
	// Schema may be called again, and before Configure.
	again, err := p.Schema(context.Background())
	if err != nil {
		t.Fatalf("Schema again: %v", err)
	}
	if d := DiffSchema(got, again); len(d) > 0 {
		t.Errorf("the second Schema differs: %v", d)
	}
}

func (s *suite) testConfigure(t *testing.T) {
	obj := func(label, token cty.Value) cty.Value {
		return cty.ObjectVal(map[string]cty.Value{"label": label, "token": token})
	}
	tests := []struct {
		name     string
		config   cty.Value
		wantPath cty.Path // nil: no error
	}{
		{"null", cty.NullVal(s.schema.Config.ImpliedType()), nil},
		{"null dynamic", cty.NullVal(cty.DynamicPseudoType), nil},
		{"set", obj(cty.StringVal("prod"), cty.StringVal(SecretToken)), nil},
		{"unset", obj(cty.NullVal(cty.String), cty.NullVal(cty.String)), nil},
		{"invalid label", obj(cty.StringVal("invalid"), cty.StringVal(SecretToken)), cty.GetAttrPath("label")},
		{"wrong type", obj(cty.ListValEmpty(cty.String), cty.NullVal(cty.String)), cty.GetAttrPath("label")},
		{"unsupported attribute", cty.ObjectVal(map[string]cty.Value{"nope": cty.True}), cty.GetAttrPath("nope")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := s.fresh(t)
			if _, err := p.Schema(context.Background()); err != nil {
				t.Fatalf("Schema: %v", err)
			}
			err := p.Configure(context.Background(), tt.config)
			if tt.wantPath == nil {
				if err != nil {
					t.Fatalf("Configure: %v", err)
				}
				// A configured provider serves.
				s.apply(t, p, s.request(t, "echo", map[string]cty.Value{"string": cty.StringVal("ok")}))
				return
			}
			if err == nil {
				t.Fatal("Configure succeeded, want an error")
			}
			pe := asProviderError(t, err)
			if !pe.Attribute.Equals(tt.wantPath) {
				t.Errorf("error %q points at %#v, want %#v", err, pe.Attribute, tt.wantPath)
			}
			if pe.Retryable {
				t.Errorf("error %q is retryable", err)
			}
			if strings.Contains(err.Error(), SecretToken) {
				t.Errorf("error %q shows the sensitive token", err)
			}
		})
	}
}

// echoCases are inputs of echo; the outputs must equal them.
func echoCases() map[string]map[string]cty.Value {
	num := func(s string) cty.Value { return cty.MustParseNumberVal(s) }
	strs := func(ss ...string) []cty.Value {
		out := make([]cty.Value, len(ss))
		for i, s := range ss {
			out[i] = cty.StringVal(s)
		}
		return out
	}
	blockVal := func(id string, secret cty.Value, subs ...cty.Value) cty.Value {
		subTy := cty.Object(map[string]cty.Type{"value": cty.Number})
		sub := cty.ListValEmpty(subTy)
		if len(subs) > 0 {
			var items []cty.Value
			for _, v := range subs {
				items = append(items, cty.ObjectVal(map[string]cty.Value{"value": v}))
			}
			sub = cty.ListVal(items)
		}
		return cty.ObjectVal(map[string]cty.Value{"id": cty.StringVal(id), "secret": secret, "sub": sub})
	}
	object := cty.ObjectVal(map[string]cty.Value{
		"name": cty.StringVal("outer"),
		"tags": cty.ListVal(strs("a", "b")),
		"inner": cty.ObjectVal(map[string]cty.Value{
			"flag": cty.True,
			"nums": cty.ListVal([]cty.Value{num("1"), num("2.5"), num("-0.125")}),
		}),
		"attrs": cty.MapVal(map[string]cty.Value{"x": num("1.5"), "y": num("-2")}),
	})
	return map[string]map[string]cty.Value{
		"all null":       {},
		"string":         {"string": cty.StringVal("hello")},
		"empty string":   {"string": cty.StringVal("")},
		"whitespace":     {"string": cty.StringVal(" \t\n\r\u00a0line\nbreaks ")},
		"big integer":    {"number": num("1606938044258990275541962092341162602522202993782792835301376")},
		"negative big":   {"number": num("-98765432109876543210987654321098765432109876543210")},
		"fraction":       {"number": num("0.1")},
		"long fraction":  {"number": num("3.14159265358979323846264338327950288419716939937510582097494459")},
		"tiny":           {"number": num("1e-300")},
		"huge exponent":  {"number": num("1.5e+400")},
		"zero":           {"number": num("0")},
		"int":            {"int": num("-9223372036854775808")},
		"bool true":      {"bool": cty.True},
		"bool false":     {"bool": cty.False},
		"list":           {"list": cty.ListVal(strs("a", "b", "a"))},
		"list with null": {"list": cty.ListVal([]cty.Value{cty.StringVal("a"), cty.NullVal(cty.String)})},
		"empty list":     {"list": cty.ListValEmpty(cty.String)},
		"set":            {"set": cty.SetVal(strs("x", "y", "z"))},
		"empty set":      {"set": cty.SetValEmpty(cty.String)},
		"map":            {"map": cty.MapVal(map[string]cty.Value{"k": cty.StringVal("v"), "": cty.StringVal("empty key")})},
		"map with null":  {"map": cty.MapVal(map[string]cty.Value{"k": cty.NullVal(cty.String)})},
		"empty map":      {"map": cty.MapValEmpty(cty.String)},
		"object":         {"object": object},
		"null object":    {"object": cty.NullVal(object.Type())},
		"object with nulls": {"object": cty.ObjectVal(map[string]cty.Value{
			"name": cty.NullVal(cty.String), "tags": cty.NullVal(cty.List(cty.String)),
			"inner": cty.NullVal(object.Type().AttributeType("inner")), "attrs": cty.MapValEmpty(cty.Number),
		})},
		"tuple":              {"tuple": cty.TupleVal([]cty.Value{cty.StringVal("t"), num("42.125"), cty.False})},
		"tuple with null":    {"tuple": cty.TupleVal([]cty.Value{cty.NullVal(cty.String), num("1"), cty.True})},
		"any string":         {"any": cty.StringVal("dynamic")},
		"any number":         {"any": num("123456789012345678901234567890.5")},
		"any object":         {"any": object},
		"any list of tuples": {"any": cty.ListVal([]cty.Value{cty.TupleVal([]cty.Value{cty.True}), cty.TupleVal([]cty.Value{cty.False})})},
		"any null":           {"any": cty.NullVal(cty.DynamicPseudoType)},
		"single block":       {"single": blockVal("one", cty.NullVal(cty.String), num("1"), num("0.001"))},
		"blocks": {"blocks": cty.ListVal([]cty.Value{
			blockVal("a", cty.StringVal("not shown"), num("7")),
			blockVal("b", cty.NullVal(cty.String)),
		})},
		"everything": {
			"string": cty.StringVal("s"), "number": num("2.5"), "int": num("7"), "bool": cty.True,
			"list": cty.ListVal(strs("l")), "set": cty.SetVal(strs("s")),
			"map": cty.MapVal(map[string]cty.Value{"m": cty.StringVal("v")}), "object": object,
			"tuple":  cty.TupleVal([]cty.Value{cty.StringVal("t"), num("1"), cty.True}),
			"any":    cty.MapVal(map[string]cty.Value{"n": num("1")}),
			"single": blockVal("s", cty.StringVal("x")),
			"blocks": cty.ListVal([]cty.Value{blockVal("b", cty.NullVal(cty.String), num("3"))}),
		},
	}
}

func (s *suite) testEcho(t *testing.T) {
	p := s.start(t)
	for name, set := range echoCases() {
		t.Run(name, func(t *testing.T) {
			r := s.request(t, "echo", set)
			out := s.apply(t, p, r)
			for attr := range r.Inputs.Type().AttributeTypes() {
				wantEqual(t, "output "+attr, out.GetAttr(attr), r.Inputs.GetAttr(attr))
			}
			resp, err := p.Plan(context.Background(), r)
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			wantEqual(t, "planned outputs", resp.Outputs, out)
		})
	}
}

// unicodeStrings are strings in many scripts; cty keeps strings in NFC.
var unicodeStrings = []string{
	"héllo wörld", "Ελληνικά", "Русский текст", "日本語のテキスト", "中文字符", "한국어",
	"العربية", "עברית", "हिन्दी", "ไทย", "ქართული", "Ꭰ Cherokee", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
	"👩‍💻🚀🏳️‍🌈👍🏽", "e\u0301 combining", "zero\u200bwidth", "line\u2028separator",
	"\U0010FFFD max plane", "tab\tand\nnewline", `quotes "' and \backslash`,
}

func (s *suite) testUnicode(t *testing.T) {
	p := s.start(t)
	var list []cty.Value
	m := map[string]cty.Value{}
	for _, str := range unicodeStrings {
		if strings.ContainsRune(str, 0) {
			t.Fatalf("unicode case %q contains NUL", str)
		}
		list = append(list, cty.StringVal(str))
		m[str] = cty.StringVal(str + " value")
		t.Run(str, func(t *testing.T) {
			r := s.request(t, "echo", map[string]cty.Value{"string": cty.StringVal(str)})
			wantEqual(t, "string", s.apply(t, p, r).GetAttr("string"), cty.StringVal(str))
		})
	}
	r := s.request(t, "echo", map[string]cty.Value{
		"list": cty.ListVal(list), "set": cty.SetVal(list), "map": cty.MapVal(m),
		"blocks": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
			"id": list[len(list)-1], "secret": cty.NullVal(cty.String),
			"sub": cty.ListValEmpty(cty.Object(map[string]cty.Type{"value": cty.Number}))})}),
	})
	out := s.apply(t, p, r)
	for _, attr := range []string{"list", "set", "map", "blocks"} {
		wantEqual(t, attr, out.GetAttr(attr), r.Inputs.GetAttr(attr))
	}
}

// startBlock starts block and waits until the provider is in it. It
// returns the Apply's result channel and the marker file.
func (s *suite) startBlock(t *testing.T, ctx context.Context, p provider.Provider) (<-chan error, string) {
	t.Helper()
	marker := filepath.Join(t.TempDir(), "cancelled")
	r := s.request(t, "block", map[string]cty.Value{"marker": cty.StringVal(marker)})
	started := make(chan struct{})
	var once sync.Once
	r.Events = func(ev provider.Event) {
		if ev.Kind == provider.EventLog && ev.Message == "blocking" {
			once.Do(func() { close(started) })
		}
	}
	errc := make(chan error, 1)
	go func() {
		_, err := p.Apply(ctx, r)
		errc <- err
	}()
	select {
	case <-started:
	case err := <-errc:
		t.Fatalf("block returned before it was cancelled: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("block did not report that it started")
	}
	select {
	case err := <-errc:
		t.Fatalf("block returned before it was cancelled: %v", err)
	case <-time.After(20 * time.Millisecond):
	}
	return errc, marker
}

// waitCancelled asserts that Apply returned with an error and that the
// provider saw the cancel after cancelled, within CancelBound.
func waitCancelled(t *testing.T, errc <-chan error, marker string, cancelled time.Time) {
	t.Helper()
	select {
	case err := <-errc:
		if err == nil {
			t.Error("a cancelled block returned no error")
		}
		t.Logf("Apply returned %s after the cancel: %v", time.Since(cancelled).Round(time.Millisecond), err)
	case <-time.After(CancelBound):
		t.Fatalf("Apply did not return within %s of the cancel", CancelBound)
	}
	deadline := time.Now().Add(CancelBound)
	for {
		b, err := os.ReadFile(marker)
		if err == nil {
			if seen, perr := time.Parse(time.RFC3339Nano, string(b)); perr == nil {
				if seen.Before(cancelled) {
					t.Fatalf("the provider saw a cancel at %s, before it was sent at %s", seen, cancelled)
				}
				latency := seen.Sub(cancelled)
				if latency > CancelBound {
					t.Fatalf("the cancel took %s to reach the provider", latency)
				}
				t.Logf("the cancel reached the provider in %s", latency.Round(time.Microsecond))
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the provider did not see the cancel within %s", CancelBound)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func (s *suite) testCancel(t *testing.T) {
	p := s.start(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc, marker := s.startBlock(t, ctx, p)
	cancelled := time.Now()
	cancel()
	waitCancelled(t, errc, marker, cancelled)
}

func (s *suite) testStop(t *testing.T) {
	p := s.start(t)
	st, ok := p.(provider.Stopper)
	if !ok {
		t.Skip("the provider does not implement provider.Stopper")
	}
	errc, marker := s.startBlock(t, context.Background(), p)
	cancelled := time.Now()
	if err := st.Stop(context.Background()); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	waitCancelled(t, errc, marker, cancelled)
	// The provider serves after a Stop.
	s.apply(t, p, s.request(t, "echo", map[string]cty.Value{"bool": cty.True}))
}

func (s *suite) testBig(t *testing.T) {
	p := s.start(t)
	const size = 10 << 20
	var rec recorder
	r := s.request(t, "big", nil)
	r.Events = rec.add
	out := s.apply(t, p, r)
	data := out.GetAttr("data")
	if !data.IsKnown() || data.IsNull() {
		t.Fatalf("data is %#v", data)
	}
	got := data.AsString()
	if len(got) != size {
		t.Fatalf("data has %d bytes, want %d", len(got), size)
	}
	if got != BigData(size) {
		t.Fatal("data differs from BigData(size)")
	}
	wantEqual(t, "size", out.GetAttr("size"), cty.NumberIntVal(size))
	var last provider.Event
	for _, ev := range rec.events() {
		if ev.Kind == provider.EventProgress {
			last = ev
		}
	}
	if last.Kind != provider.EventProgress || last.Done != size || last.Total != size || last.Unit != "bytes" {
		t.Errorf("last progress event %+v, want %d of %d bytes", last, size, size)
	}
}

// testBigInput: inputs are not capped below outputs.
func (s *suite) testBigInput(t *testing.T) {
	p := s.start(t)
	in := BigData(10 << 20)
	out := s.apply(t, p, s.request(t, "echo", map[string]cty.Value{"string": cty.StringVal(in)}))
	if got := out.GetAttr("string"); !got.IsKnown() || got.IsNull() || got.AsString() != in {
		t.Error("a 10 MiB input did not come back unchanged")
	}
}

// BigData is big's output of the given size: "0123456789abcdef" repeated
// and cut to size.
func BigData(size int) string {
	const unit = "0123456789abcdef"
	return strings.Repeat(unit, size/len(unit)+1)[:size]
}

func (s *suite) testErrors(t *testing.T) {
	p := s.start(t)
	tests := []struct {
		name      string
		retryable bool
		path      []string
		wantPath  cty.Path
	}{
		{"plain", false, nil, nil},
		{"retryable", true, nil, nil},
		{"attribute", false, []string{"message"}, cty.GetAttrPath("message")},
		{"retryable attribute", true, []string{"retryable"}, cty.GetAttrPath("retryable")},
		{"list index", false, []string{"path", "1"}, cty.GetAttrPath("path").IndexInt(1)},
		{"nested", true, []string{"blocks", "0", "sub", "2", "value"},
			cty.GetAttrPath("blocks").IndexInt(0).GetAttr("sub").IndexInt(2).GetAttr("value")},
		{"map key", false, []string{"object", "#kéy ✓", "name"}, cty.GetAttrPath("object").IndexString("kéy ✓").GetAttr("name")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := "failure: " + tt.name
			set := map[string]cty.Value{"message": cty.StringVal(msg), "retryable": cty.BoolVal(tt.retryable)}
			if tt.path != nil {
				set["path"] = cty.ListVal(strVals(tt.path))
			}
			pe := applyErr(t, p, s.request(t, "fail", set))
			if pe.Retryable != tt.retryable || provider.Retryable(pe) != tt.retryable {
				t.Errorf("error %q: retryable %v, want %v", pe, pe.Retryable, tt.retryable)
			}
			if !pe.Attribute.Equals(tt.wantPath) {
				t.Errorf("error %q points at %#v, want %#v", pe, pe.Attribute, tt.wantPath)
			}
			if !strings.Contains(pe.Error(), msg) {
				t.Errorf("error %q does not contain %q", pe, msg)
			}
		})
	}
}

func strVals(ss []string) []cty.Value {
	out := make([]cty.Value, len(ss))
	for i, s := range ss {
		out[i] = cty.StringVal(s)
	}
	return out
}

// testInputErrors: inputs that do not fit the schema fail, not retryable,
// pointing at the input.
func (s *suite) testInputErrors(t *testing.T) {
	p := s.start(t)
	badID := s.inputs(t, "echo", map[string]cty.Value{"blocks": cty.ListVal([]cty.Value{cty.ObjectVal(map[string]cty.Value{
		"id": cty.NullVal(cty.String), "secret": cty.NullVal(cty.String),
		"sub": cty.ListValEmpty(cty.Object(map[string]cty.Type{"value": cty.Number}))})})})
	withExtra := func(in cty.Value, name string, v cty.Value) cty.Value {
		m := in.AsValueMap()
		m[name] = v
		return cty.ObjectVal(m)
	}
	echo := s.inputs(t, "echo", nil)
	tests := []struct {
		name     string
		action   string
		inputs   cty.Value
		wantPath cty.Path
	}{
		{"wrong type", "echo", withExtra(echo, "number", cty.StringVal("not a number")), cty.GetAttrPath("number")},
		{"fraction for int", "echo", withExtra(echo, "int", cty.NumberFloatVal(1.5)), cty.GetAttrPath("int")},
		{"required", "fail", s.inputs(t, "fail", nil), cty.GetAttrPath("message")},
		{"required in block", "echo", badID, cty.GetAttrPath("blocks").IndexInt(0).GetAttr("id")},
		{"unsupported", "echo", withExtra(echo, "nope", cty.True), cty.GetAttrPath("nope")},
		{"unknown action", "no_such_action", echo, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pe := applyErr(t, p, &provider.Request{Action: tt.action, Inputs: tt.inputs})
			if pe.Retryable {
				t.Errorf("error %q is retryable", pe)
			}
			if !pe.Attribute.Equals(tt.wantPath) {
				t.Errorf("error %q points at %#v, want %#v", pe, pe.Attribute, tt.wantPath)
			}
		})
	}
}

func (s *suite) testSensitive(t *testing.T) {
	p := s.start(t)
	secrets := []string{Secret, SecretNote, SecretToken}
	clean := func(t *testing.T, where, text string) {
		t.Helper()
		for _, sec := range secrets {
			if strings.Contains(text, sec) {
				t.Errorf("%s shows a sensitive value: %q", where, text)
			}
		}
	}
	newReq := func(t *testing.T, rec *recorder) *provider.Request {
		r := s.request(t, "log_secret", map[string]cty.Value{
			"secret": cty.StringVal(Secret),
			"note":   cty.StringVal(SecretNote),
			"credentials": cty.ObjectVal(map[string]cty.Value{
				"user": cty.StringVal("alice"), "token": cty.StringVal(SecretToken)}),
		})
		// The schema marks secret and credentials.token; the engine says
		// note is sensitive too (it came from a sensitive variable).
		r.SensitivePaths = []cty.Path{cty.GetAttrPath("note")}
		r.Events = rec.add
		return r
	}
	t.Run("Apply", func(t *testing.T) {
		var rec recorder
		pe := applyErr(t, p, newReq(t, &rec))
		clean(t, "the Apply error", pe.Error())
		if !strings.Contains(pe.Error(), "login with") {
			t.Errorf("error %q lost its message", pe)
		}
		evs := rec.events()
		if len(evs) == 0 {
			t.Fatal("log_secret sent no events")
		}
		kept := false
		for _, ev := range evs {
			clean(t, "an event", ev.Message+" "+ev.Unit+" "+ev.Level)
			kept = kept || strings.Contains(ev.Message, "alice")
		}
		if !kept {
			t.Errorf("no event kept the non-sensitive user name: %+v", evs)
		}
	})
	t.Run("Plan", func(t *testing.T) {
		var rec recorder
		_, err := p.Plan(context.Background(), newReq(t, &rec))
		if err == nil {
			t.Fatal("Plan succeeded, want an error")
		}
		clean(t, "the Plan error", err.Error())
	})
	t.Run("Check", func(t *testing.T) {
		var rec recorder
		_, err := p.Check(context.Background(), &provider.CheckRequest{Request: *newReq(t, &rec), Started: time.Now()})
		if err == nil {
			t.Fatal("Check succeeded, want an error")
		}
		clean(t, "the Check error", err.Error())
	})
}

func (s *suite) testCheck(t *testing.T) {
	p := s.start(t)
	ctx := context.Background()
	check := func(t *testing.T, r *provider.Request) *provider.CheckResponse {
		t.Helper()
		resp, err := p.Check(ctx, &provider.CheckRequest{Request: *r, Started: time.Now().Add(-time.Minute)})
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		return resp
	}
	t.Run("no Check", func(t *testing.T) {
		resp := check(t, s.request(t, "echo", map[string]cty.Value{"string": cty.StringVal("x")}))
		if resp.Result != provider.Unknown {
			t.Errorf("result %v, want Unknown", resp.Result)
		}
		if resp.Outputs != cty.NilVal && !resp.Outputs.IsNull() {
			t.Errorf("outputs %#v with an Unknown result", resp.Outputs)
		}
	})
	path := filepath.Join(t.TempDir(), "touched")
	touch := s.request(t, "touch", map[string]cty.Value{"path": cty.StringVal(path), "content": cty.StringVal("content ✓")})
	t.Run("NotApplied", func(t *testing.T) {
		if resp := check(t, touch); resp.Result != provider.NotApplied {
			t.Errorf("result %v before Apply, want NotApplied", resp.Result)
		}
	})
	t.Run("Applied", func(t *testing.T) {
		out := s.apply(t, p, touch)
		resp := check(t, touch)
		if resp.Result != provider.Applied {
			t.Fatalf("result %v after Apply, want Applied", resp.Result)
		}
		wantEqual(t, "Check's outputs", resp.Outputs, out)
	})
	t.Run("Unknown", func(t *testing.T) {
		if err := os.WriteFile(path, []byte("changed by someone else"), 0o644); err != nil {
			t.Fatal(err)
		}
		if resp := check(t, touch); resp.Result != provider.Unknown {
			t.Errorf("result %v with other content, want Unknown", resp.Result)
		}
	})
	t.Run("unknown inputs", func(t *testing.T) {
		r := s.request(t, "touch", map[string]cty.Value{"path": cty.StringVal(path), "content": cty.UnknownVal(cty.String)})
		if resp := check(t, r); resp.Result != provider.Unknown {
			t.Errorf("result %v with unknown inputs, want Unknown", resp.Result)
		}
	})
}

// testCheckStarted: the time an interrupted attempt started reaches Check
// to the nanosecond.
func (s *suite) testCheckStarted(t *testing.T) {
	p := s.start(t)
	check := func(t *testing.T, started time.Time) string {
		t.Helper()
		resp, err := p.Check(context.Background(), &provider.CheckRequest{Request: *s.request(t, "started", nil), Started: started})
		if err != nil {
			t.Fatalf("Check: %v", err)
		}
		if resp.Result != provider.Applied {
			t.Fatalf("result %v, want Applied", resp.Result)
		}
		return resp.Outputs.GetAttr("started").AsString()
	}
	started := time.Date(2031, 2, 3, 4, 5, 6, 789012345, time.FixedZone("X", 3600))
	if got, want := check(t, started), started.UTC().Format(time.RFC3339Nano); got != want {
		t.Errorf("Check saw started %s, want %s", got, want)
	}
	t.Run("zero", func(t *testing.T) {
		if got := check(t, time.Time{}); got != "zero" {
			t.Errorf("Check saw started %s, want the zero time", got)
		}
	})
}

func (s *suite) testPlanUnknown(t *testing.T) {
	p := s.start(t)
	ctx := context.Background()
	dir := t.TempDir()
	plan := func(t *testing.T, r *provider.Request) cty.Value {
		t.Helper()
		resp, err := p.Plan(ctx, r)
		if err != nil {
			t.Fatalf("Plan: %v", err)
		}
		want := s.schema.Actions[r.Action].OutputType()
		if !resp.Outputs.Type().Equals(want) {
			t.Fatalf("planned outputs of type %#v, want exactly %#v", resp.Outputs.Type(), want)
		}
		return resp.Outputs
	}
	untouched := func(t *testing.T, path string) {
		t.Helper()
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("Plan touched %s (stat: %v): it ran Apply", path, err)
		}
	}
	allUnknown := func(t *testing.T, out cty.Value) {
		t.Helper()
		for name := range out.Type().AttributeTypes() {
			if out.GetAttr(name).IsKnown() {
				t.Errorf("output %s is %#v, want unknown", name, out.GetAttr(name))
			}
		}
	}
	t.Run("known inputs", func(t *testing.T) {
		path := filepath.Join(dir, "known")
		out := plan(t, s.request(t, "touch", map[string]cty.Value{"path": cty.StringVal(path), "content": cty.StringVal("x")}))
		wantEqual(t, "planned path", out.GetAttr("path"), cty.StringVal(path))
		if out.GetAttr("size").IsKnown() {
			t.Errorf("planned size %#v, want unknown", out.GetAttr("size"))
		}
		untouched(t, path)
	})
	t.Run("unknown input", func(t *testing.T) {
		path := filepath.Join(dir, "unknown")
		out := plan(t, s.request(t, "touch", map[string]cty.Value{"path": cty.StringVal(path), "content": cty.UnknownVal(cty.String)}))
		allUnknown(t, out)
		untouched(t, path)
	})
	t.Run("unknown inside a collection", func(t *testing.T) {
		out := plan(t, s.request(t, "echo", map[string]cty.Value{
			"string": cty.StringVal("known"),
			"list":   cty.ListVal([]cty.Value{cty.StringVal("a"), cty.UnknownVal(cty.String)}),
		}))
		allUnknown(t, out)
	})
	t.Run("unknown block", func(t *testing.T) {
		out := plan(t, s.request(t, "echo", map[string]cty.Value{
			"blocks": cty.UnknownVal(s.schema.Actions["echo"].Inputs.ImpliedType().AttributeType("blocks")),
		}))
		allUnknown(t, out)
	})
	t.Run("unknown inputs at Apply", func(t *testing.T) {
		path := filepath.Join(dir, "apply")
		_ = applyErr(t, p, s.request(t, "touch", map[string]cty.Value{"path": cty.StringVal(path), "content": cty.UnknownVal(cty.String)}))
		untouched(t, path)
	})
}
