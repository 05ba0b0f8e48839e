package sdk_test

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/providertest"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

type nestedObj struct {
	A string   `cty:"a"`
	B []string `cty:"b" type:"set(string)"`
}

type sub struct {
	Host string `cty:"host" runbook:"required"`
	Port int    `cty:"port"`
}

type allIn struct {
	S      string            `cty:"s" runbook:"required" help:"A string."`
	PS     *string           `cty:"ps"`
	I      int               `cty:"i"`
	F      float64           `cty:"f"`
	BF     *big.Float        `cty:"bf"`
	B      bool              `cty:"b"`
	L      []int             `cty:"l"`
	Set    []string          `cty:"set" type:"set(string)"`
	M      map[string]bool   `cty:"m"`
	Obj    nestedObj         `cty:"obj"`
	Objs   []nestedObj       `cty:"objs"`
	Tuple  cty.Value         `cty:"tuple" type:"tuple([string, number])"`
	Any    cty.Value         `cty:"any"`
	Pass   string            `cty:"pass" runbook:"sensitive"`
	One    *sub              `cty:"one" runbook:"block,required"`
	Many   []sub             `cty:"many" runbook:"block"`
	Ignore string            // untagged: not an attribute
	Skip   map[string]string `cty:"-"`
}

func TestSchemaFromTags(t *testing.T) {
	p := &sdk.Provider{Name: "t", Version: "9"}
	p.Action("all", sdk.Action[allIn, nestedObj]{Description: "d", Mutating: true,
		Apply: func(context.Context, allIn, sdk.Reporter) (nestedObj, error) { return nestedObj{}, nil }})
	got, err := p.Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	objTy := cty.Object(map[string]cty.Type{"a": cty.String, "b": cty.Set(cty.String)})
	subBlock := &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{
		"host": {Type: cty.String, Required: true},
		"port": {Type: cty.Number},
	}}
	want := &dsl.ProviderSchema{Version: "9", Config: &dsl.BlockSchema{}, Actions: map[string]*dsl.ActionSchema{
		"all": {Description: "d", Mutating: true,
			Inputs: &dsl.BlockSchema{
				Attributes: map[string]*dsl.AttributeSchema{
					"s":     {Type: cty.String, Required: true, Description: "A string."},
					"ps":    {Type: cty.String},
					"i":     {Type: cty.Number},
					"f":     {Type: cty.Number},
					"bf":    {Type: cty.Number},
					"b":     {Type: cty.Bool},
					"l":     {Type: cty.List(cty.Number)},
					"set":   {Type: cty.Set(cty.String)},
					"m":     {Type: cty.Map(cty.Bool)},
					"obj":   {Type: objTy},
					"objs":  {Type: cty.List(objTy)},
					"tuple": {Type: cty.Tuple([]cty.Type{cty.String, cty.Number})},
					"any":   {Type: cty.DynamicPseudoType},
					"pass":  {Type: cty.String, Sensitive: true},
				},
				Blocks: map[string]*dsl.NestedBlockSchema{
					"one":  {Nesting: dsl.NestingSingle, Block: subBlock, MinItems: 1},
					"many": {Nesting: dsl.NestingList, Block: subBlock},
				},
			},
			Outputs: map[string]cty.Type{"a": cty.String, "b": cty.Set(cty.String)},
		},
	}}
	for _, d := range providertest.DiffSchema(want, got) {
		t.Error(d)
	}
	// The input type is what hcldec decodes the schema to.
	wantTy := want.Actions["all"].Inputs.ImpliedType()
	if gotTy := got.Actions["all"].Inputs.ImpliedType(); !gotTy.Equals(wantTy) {
		t.Errorf("input type %#v, want %#v", gotTy, wantTy)
	}
}

type (
	badFlag struct {
		X string `cty:"x" runbook:"requierd"`
	}
	badBlock struct {
		X string `cty:"x" runbook:"block"`
	}
	badType struct {
		X string `cty:"x" type:"sett(string)"`
	}
	badUnexp struct {
		x string `cty:"x"` //nolint:unused // the SDK must refuse an unexported field
	}
	badDup struct {
		X, Y string `cty:"x"`
	}
	badName struct {
		X string `cty:"9lives"`
	}
	badIface struct {
		X any `cty:"x"`
	}
	badMapKey struct {
		X map[int]string `cty:"x"`
	}
	badMeta struct {
		X string `cty:"depends_on"`
	}
	badTime struct {
		X time.Time `cty:"x"`
	}
	badRecursive struct {
		Next *badRecursive `cty:"next"`
	}
	okIn struct{}
)

func TestBadDefinitions(t *testing.T) {
	apply := func(context.Context, okIn, sdk.Reporter) (okIn, error) { return okIn{}, nil }
	tests := []struct {
		name string
		def  sdk.ActionDef
		want string
	}{
		{"unknown flag", sdk.Action[badFlag, okIn]{Apply: func(context.Context, badFlag, sdk.Reporter) (okIn, error) { return okIn{}, nil }}, `unknown runbook flag "requierd"`},
		{"block of string", sdk.Action[badBlock, okIn]{Apply: func(context.Context, badBlock, sdk.Reporter) (okIn, error) { return okIn{}, nil }}, "a block must be a struct"},
		{"bad type tag", sdk.Action[badType, okIn]{Apply: func(context.Context, badType, sdk.Reporter) (okIn, error) { return okIn{}, nil }}, `type "sett(string)"`},
		{"unexported", sdk.Action[badUnexp, okIn]{Apply: func(context.Context, badUnexp, sdk.Reporter) (okIn, error) { return okIn{}, nil }}, "must be exported"},
		{"duplicate attribute", sdk.Action[badDup, okIn]{Apply: func(context.Context, badDup, sdk.Reporter) (okIn, error) { return okIn{}, nil }}, "declared twice"},
		{"bad attribute name", sdk.Action[badName, okIn]{Apply: func(context.Context, badName, sdk.Reporter) (okIn, error) { return okIn{}, nil }}, "not a valid attribute name"},
		{"interface", sdk.Action[okIn, badIface]{Apply: func(context.Context, okIn, sdk.Reporter) (badIface, error) { return badIface{}, nil }}, "use cty.Value"},
		{"int map keys", sdk.Action[badMapKey, okIn]{Apply: func(context.Context, badMapKey, sdk.Reporter) (okIn, error) { return okIn{}, nil }}, "map keys must be strings"},
		{"recursive", sdk.Action[badRecursive, okIn]{Apply: func(context.Context, badRecursive, sdk.Reporter) (okIn, error) { return okIn{}, nil }}, "refers to itself"},
		{"meta-argument", sdk.Action[badMeta, okIn]{Apply: func(context.Context, badMeta, sdk.Reporter) (okIn, error) { return okIn{}, nil }}, "step meta-argument"},
		{"untagged struct", sdk.Action[badTime, okIn]{Apply: func(context.Context, badTime, sdk.Reporter) (okIn, error) { return okIn{}, nil }}, "no fields with cty tags"},
		{"not a struct", sdk.Action[string, okIn]{Apply: func(context.Context, string, sdk.Reporter) (okIn, error) { return okIn{}, nil }}, "must be a struct type"},
		{"no Apply", sdk.Action[okIn, okIn]{}, "has no Apply"},
		{"nil", nil, "has no definition"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				x := recover()
				if x == nil || !strings.Contains(fmt.Sprint(x), tt.want) {
					t.Errorf("panic %v, want one containing %q", x, tt.want)
				}
			}()
			p := &sdk.Provider{Name: "t"}
			p.Action("a", tt.def)
		})
	}
	t.Run("twice", func(t *testing.T) {
		defer func() {
			if x := recover(); x == nil || !strings.Contains(fmt.Sprint(x), "registered twice") {
				t.Errorf("panic %v", x)
			}
		}()
		p := &sdk.Provider{Name: "t"}
		p.Action("a", sdk.Action[okIn, okIn]{Apply: apply})
		p.Action("a", sdk.Action[okIn, okIn]{Apply: apply})
	})
	t.Run("bad action name", func(t *testing.T) {
		defer func() {
			if x := recover(); x == nil || !strings.Contains(fmt.Sprint(x), "not a valid action name") {
				t.Errorf("panic %v", x)
			}
		}()
		(&sdk.Provider{Name: "t"}).Action("a.b", sdk.Action[okIn, okIn]{Apply: apply})
	})
	t.Run("bad provider name", func(t *testing.T) {
		_, err := (&sdk.Provider{}).Schema(context.Background())
		if err == nil || !strings.Contains(err.Error(), "not a valid name") {
			t.Errorf("Schema: %v", err)
		}
	})
	t.Run("bad config", func(t *testing.T) {
		p := &sdk.Provider{Name: "t", Config: sdk.ConfigOf(func(context.Context, badFlag) error { return nil })}
		if _, err := p.Schema(context.Background()); err == nil || !strings.Contains(err.Error(), "requierd") {
			t.Errorf("Schema: %v", err)
		}
	})
}

// newProvider returns a provider with the one action, configured.
func newProvider[In, Out any](t *testing.T, a sdk.Action[In, Out]) *sdk.Provider {
	t.Helper()
	p := &sdk.Provider{Name: "t", Version: "1", Logger: hclog.NewNullLogger()}
	p.Action("a", a)
	if err := p.Configure(context.Background(), cty.NullVal(cty.DynamicPseudoType)); err != nil {
		t.Fatal(err)
	}
	return p
}

func req(inputs map[string]cty.Value) *provider.Request {
	return &provider.Request{Action: "a", Inputs: cty.ObjectVal(inputs)}
}

type optIn struct {
	S   string            `cty:"s"`
	N   int               `cty:"n"`
	B   bool              `cty:"b"`
	L   []string          `cty:"l"`
	M   map[string]string `cty:"m"`
	PS  *string           `cty:"ps"`
	Obj nestedObj         `cty:"obj"`
	One *sub              `cty:"one" runbook:"block"`
	Val sub               `cty:"val" runbook:"block"`
}

// Unset optional inputs decode to Go zero values; pointers to nil. Inputs
// the engine leaves out altogether count as unset.
func TestZeroForNull(t *testing.T) {
	var got optIn
	p := newProvider(t, sdk.Action[optIn, struct{}]{Apply: func(_ context.Context, in optIn, _ sdk.Reporter) (struct{}, error) {
		got = in
		return struct{}{}, nil
	}})
	for _, inputs := range []cty.Value{cty.EmptyObjectVal, cty.NullVal(cty.DynamicPseudoType),
		cty.ObjectVal(map[string]cty.Value{"s": cty.NullVal(cty.String), "obj": cty.ObjectVal(map[string]cty.Value{
			"a": cty.NullVal(cty.String), "b": cty.NullVal(cty.Set(cty.String))})})} {
		got = optIn{S: "stale"}
		if _, err := p.Apply(context.Background(), &provider.Request{Action: "a", Inputs: inputs}); err != nil {
			t.Fatalf("Apply(%#v): %v", inputs, err)
		}
		if got.S != "" || got.N != 0 || got.B || got.L != nil || got.M != nil || got.PS != nil || got.One != nil ||
			got.Obj.A != "" || got.Obj.B != nil || got.Val.Host != "" {
			t.Errorf("Apply(%#v) decoded %+v", inputs, got)
		}
	}
}

type numIn struct {
	N  int        `cty:"n"`
	BF *big.Float `cty:"bf"`
}

func TestInputConversion(t *testing.T) {
	var got numIn
	p := newProvider(t, sdk.Action[numIn, numIn]{Apply: func(_ context.Context, in numIn, _ sdk.Reporter) (numIn, error) {
		got = in
		return in, nil
	}})
	// Inputs convert as HCL converts: "42" is a number.
	resp, err := p.Apply(context.Background(), req(map[string]cty.Value{"n": cty.StringVal("42"), "bf": cty.MustParseNumberVal("1e-400")}))
	if err != nil {
		t.Fatal(err)
	}
	if got.N != 42 || got.BF.Cmp(cty.MustParseNumberVal("1e-400").AsBigFloat()) != 0 {
		t.Errorf("decoded %+v", got)
	}
	if !resp.Outputs.GetAttr("bf").RawEquals(cty.MustParseNumberVal("1e-400")) {
		t.Errorf("bf came back as %#v", resp.Outputs.GetAttr("bf"))
	}
	_, err = p.Apply(context.Background(), req(map[string]cty.Value{"n": cty.NumberFloatVal(1.5)}))
	wantError(t, err, false, cty.GetAttrPath("n"), `t.a: input "n"`)
}

type badOut struct {
	V cty.Value `cty:"v" type:"number"`
}

func TestBadOutputs(t *testing.T) {
	p := newProvider(t, sdk.Action[struct{}, badOut]{Apply: func(context.Context, struct{}, sdk.Reporter) (badOut, error) {
		return badOut{V: cty.StringVal("not a number")}, nil
	}})
	_, err := p.Apply(context.Background(), req(nil))
	wantError(t, err, false, nil, `t.a: output "v"`)

	p = newProvider(t, sdk.Action[struct{}, badOut]{Apply: func(context.Context, struct{}, sdk.Reporter) (badOut, error) {
		return badOut{}, nil // a zero cty.Value is null
	}})
	resp, err := p.Apply(context.Background(), req(nil))
	if err != nil || !resp.Outputs.GetAttr("v").RawEquals(cty.NullVal(cty.Number)) {
		t.Errorf("Apply = %#v, %v; want a null v", resp, err)
	}
}

func wantError(t *testing.T, err error, retryable bool, path cty.Path, contains ...string) *provider.Error {
	t.Helper()
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
	}
	if pe.Retryable != retryable {
		t.Errorf("error %q: retryable %v, want %v", err, pe.Retryable, retryable)
	}
	if !pe.Attribute.Equals(path) {
		t.Errorf("error %q at %#v, want %#v", err, pe.Attribute, path)
	}
	for _, s := range contains {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not contain %q", err, s)
		}
	}
	return pe
}

type errIn struct {
	Kind string `cty:"kind"`
}

func TestErrors(t *testing.T) {
	base := errors.New("boom")
	p := newProvider(t, sdk.Action[errIn, struct{}]{Apply: func(ctx context.Context, in errIn, _ sdk.Reporter) (struct{}, error) {
		switch in.Kind {
		case "retryable attribute":
			return struct{}{}, sdk.Retryable(sdk.AttributeError("kind", base))
		case "attribute retryable":
			return struct{}{}, sdk.AttributeError("kind", sdk.Retryable(base))
		case "wrapped":
			return struct{}{}, fmt.Errorf("context: %w", sdk.Retryable(base))
		case "provider error":
			return struct{}{}, &provider.Error{Message: "own", Retryable: true, Attribute: cty.GetAttrPath("x")}
		case "nested path":
			return struct{}{}, sdk.AttributePathError(cty.GetAttrPath("a").IndexInt(2).IndexString("k"), base)
		case "cancelled":
			c, cancel := context.WithCancel(ctx)
			cancel()
			return struct{}{}, c.Err()
		}
		return struct{}{}, base
	}})
	tests := []struct {
		kind      string
		retryable bool
		path      cty.Path
		msg       string
	}{
		{"plain", false, nil, "t.a: boom"},
		{"retryable attribute", true, cty.GetAttrPath("kind"), "t.a: boom"},
		{"attribute retryable", true, cty.GetAttrPath("kind"), "t.a: boom"},
		{"wrapped", true, nil, "t.a: context: boom"},
		{"provider error", true, cty.GetAttrPath("x"), "t.a: own"},
		{"nested path", false, cty.GetAttrPath("a").IndexInt(2).IndexString("k"), "t.a: boom"},
		{"cancelled", false, nil, "context canceled"},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			_, err := p.Apply(context.Background(), req(map[string]cty.Value{"kind": cty.StringVal(tt.kind)}))
			pe := wantError(t, err, tt.retryable, tt.path)
			if pe.Error() != tt.msg && !strings.Contains(pe.Error(), tt.msg) {
				t.Errorf("message %q, want %q", pe.Error(), tt.msg)
			}
		})
	}
	// In-process, the chain survives redaction.
	_, err := p.Apply(context.Background(), req(map[string]cty.Value{"kind": cty.StringVal("cancelled")}))
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v does not wrap context.Canceled", err)
	}
	if sdk.Retryable(nil) != nil || sdk.AttributeError("x", nil) != nil {
		t.Error("wrapping nil is not nil")
	}
}

type secretIn struct {
	Password string      `cty:"password" runbook:"sensitive"`
	URL      string      `cty:"url" runbook:"sensitive"`
	PIN      int         `cty:"pin" runbook:"sensitive"`
	Plain    string      `cty:"plain"`
	Creds    []credBlock `cty:"creds" runbook:"block"`
}

type credBlock struct {
	Key string `cty:"key" runbook:"sensitive"`
}

func TestRedaction(t *testing.T) {
	p := newProvider(t, sdk.Action[secretIn, struct{}]{
		Apply: func(_ context.Context, in secretIn, r sdk.Reporter) (struct{}, error) {
			all := fmt.Sprintf("pw=%s url=%s pin=%d plain=%s key=%s", in.Password, in.URL, in.PIN, in.Plain, in.Creds[1].Key)
			r.Log(sdk.LevelWarn, all)
			r.Log("bogus", "level")
			r.Progress(1, 2, in.Password)
			panic(all)
		},
		Plan: func(_ context.Context, in secretIn) (struct{}, []string, error) {
			return struct{}{}, nil, sdk.AttributeError("password", fmt.Errorf("bad %q", in.Password))
		},
	})
	var events []provider.Event
	r := req(map[string]cty.Value{
		"password": cty.StringVal("hunter2"),
		"url":      cty.StringVal("https://user:pa ss@example.com/x"),
		"pin":      cty.NumberIntVal(918273),
		"plain":    cty.StringVal("from-a-sensitive-var").Mark("sensitive"),
		"creds": cty.ListVal([]cty.Value{
			cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal("k-one")}),
			cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal("k-two")}),
		}),
	})
	r.Events = func(ev provider.Event) { events = append(events, ev) }
	secrets := []string{"hunter2", "pa ss", "pa%20ss", "918273", "from-a-sensitive-var", "k-two"}
	clean := func(what, s string) {
		t.Helper()
		for _, sec := range secrets {
			if strings.Contains(s, sec) {
				t.Errorf("%s shows %q: %q", what, sec, s)
			}
		}
		if !strings.Contains(s, sdk.Redacted) {
			t.Errorf("%s has nothing redacted: %q", what, s)
		}
	}
	_, err := p.Apply(context.Background(), r)
	wantError(t, err, false, nil, "panic")
	clean("the panic's error", err.Error())
	if len(events) != 3 {
		t.Fatalf("events %+v", events)
	}
	clean("the log line", events[0].Message)
	if events[0].Level != "warn" || events[1].Level != "info" {
		t.Errorf("levels %q, %q", events[0].Level, events[1].Level)
	}
	clean("the progress unit", events[2].Unit)

	_, err = p.Plan(context.Background(), r)
	wantError(t, err, false, cty.GetAttrPath("password"))
	clean("the Plan error", err.Error())
}

type touchOut struct {
	Path string `cty:"path"`
	Size int    `cty:"size"`
}

func TestPlan(t *testing.T) {
	applied := false
	a := sdk.Action[errIn, touchOut]{Apply: func(context.Context, errIn, sdk.Reporter) (touchOut, error) {
		applied = true
		return touchOut{}, nil
	}}
	unknown := cty.ObjectVal(map[string]cty.Value{"path": cty.UnknownVal(cty.String), "size": cty.UnknownVal(cty.Number)})
	t.Run("default", func(t *testing.T) {
		p := newProvider(t, a)
		resp, err := p.Plan(context.Background(), req(map[string]cty.Value{"kind": cty.StringVal("x")}))
		if err != nil || !resp.Outputs.RawEquals(unknown) {
			t.Errorf("Plan = %#v, %v", resp, err)
		}
	})
	a.Plan = func(_ context.Context, in errIn) (touchOut, []string, error) {
		if in.Kind == "bad" {
			return touchOut{}, []string{"nope"}, nil
		}
		return touchOut{Path: in.Kind, Size: 1}, []string{"path"}, nil
	}
	p := newProvider(t, a)
	resp, err := p.Plan(context.Background(), req(map[string]cty.Value{"kind": cty.StringVal("x")}))
	want := cty.ObjectVal(map[string]cty.Value{"path": cty.StringVal("x"), "size": cty.UnknownVal(cty.Number)})
	if err != nil || !resp.Outputs.RawEquals(want) {
		t.Errorf("Plan = %#v, %v; want %#v", resp, err, want)
	}
	resp, err = p.Plan(context.Background(), req(map[string]cty.Value{"kind": cty.UnknownVal(cty.String)}))
	if err != nil || !resp.Outputs.RawEquals(unknown) {
		t.Errorf("Plan with unknown input = %#v, %v", resp, err)
	}
	resp, err = p.Plan(context.Background(), &provider.Request{Action: "a", Inputs: cty.UnknownVal(cty.DynamicPseudoType)})
	if err != nil || !resp.Outputs.RawEquals(unknown) {
		t.Errorf("Plan with unknown inputs = %#v, %v", resp, err)
	}
	_, err = p.Plan(context.Background(), req(map[string]cty.Value{"kind": cty.StringVal("bad")}))
	wantError(t, err, false, nil, `output "nope"`)
	if applied {
		t.Error("Plan called Apply")
	}
}

func TestCheck(t *testing.T) {
	p := newProvider(t, sdk.Action[errIn, touchOut]{
		Apply: func(context.Context, errIn, sdk.Reporter) (touchOut, error) { return touchOut{}, nil },
		Check: func(_ context.Context, in errIn, started time.Time) (sdk.CheckResult, touchOut, error) {
			switch in.Kind {
			case "applied":
				return sdk.Applied, touchOut{Path: started.UTC().Format(time.RFC3339), Size: 3}, nil
			case "invalid":
				return sdk.CheckResult(42), touchOut{}, nil
			}
			return sdk.NotApplied, touchOut{Path: "ignored"}, nil
		},
	})
	check := func(kind string) (*provider.CheckResponse, error) {
		return p.Check(context.Background(), &provider.CheckRequest{
			Request: *req(map[string]cty.Value{"kind": cty.StringVal(kind)}),
			Started: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC),
		})
	}
	resp, err := check("applied")
	want := cty.ObjectVal(map[string]cty.Value{"path": cty.StringVal("2030-01-02T03:04:05Z"), "size": cty.NumberIntVal(3)})
	if err != nil || resp.Result != sdk.Applied || !resp.Outputs.RawEquals(want) {
		t.Errorf("Check = %#v, %v", resp, err)
	}
	resp, err = check("other")
	if err != nil || resp.Result != sdk.NotApplied || !resp.Outputs.IsNull() {
		t.Errorf("Check = %#v, %v; want NotApplied with null outputs", resp, err)
	}
	_, err = check("invalid")
	wantError(t, err, false, nil, "invalid result")
}

func TestConfigure(t *testing.T) {
	type cfg struct {
		Endpoint string `cty:"endpoint" runbook:"required"`
		Token    string `cty:"token" runbook:"sensitive"`
	}
	var got cfg
	newP := func() *sdk.Provider {
		p := &sdk.Provider{Name: "t", Config: sdk.ConfigOf(func(_ context.Context, c cfg) error {
			if c.Endpoint == "bad" {
				return sdk.AttributeError("endpoint", fmt.Errorf("cannot reach it with %s", c.Token))
			}
			got = c
			return nil
		})}
		p.Action("a", sdk.Action[struct{}, struct{}]{Apply: func(context.Context, struct{}, sdk.Reporter) (struct{}, error) {
			return struct{}{}, nil
		}})
		return p
	}
	ctx := context.Background()
	p := newP()
	_, err := p.Apply(ctx, req(nil))
	wantError(t, err, false, nil, "not configured")

	err = p.Configure(ctx, cty.NullVal(cty.DynamicPseudoType))
	wantError(t, err, false, cty.GetAttrPath("endpoint"), `config "endpoint" is required`)

	err = p.Configure(ctx, cty.ObjectVal(map[string]cty.Value{"endpoint": cty.StringVal("bad"), "token": cty.StringVal("tok-123")}))
	wantError(t, err, false, cty.GetAttrPath("endpoint"), "cannot reach it with (sensitive)")

	err = p.Configure(ctx, cty.ObjectVal(map[string]cty.Value{"endpoint": cty.StringVal("e"), "token": cty.UnknownVal(cty.String)}))
	wantError(t, err, false, nil, "not known")

	if err := p.Configure(ctx, cty.MapVal(map[string]cty.Value{"endpoint": cty.StringVal("https://x")})); err != nil {
		t.Fatalf("Configure: %v", err)
	}
	if got.Endpoint != "https://x" || got.Token != "" {
		t.Errorf("configured %+v", got)
	}
	if _, err := p.Apply(ctx, req(nil)); err != nil {
		t.Errorf("Apply after Configure: %v", err)
	}

	// Without Config, the provider takes no configuration.
	bare := &sdk.Provider{Name: "t"}
	if err := bare.Configure(ctx, cty.EmptyObjectVal); err != nil {
		t.Errorf("Configure({}): %v", err)
	}
	wantError(t, bare.Configure(ctx, cty.ObjectVal(map[string]cty.Value{"x": cty.True})), false, cty.GetAttrPath("x"), `unsupported config "x"`)
}

func TestActionNames(t *testing.T) {
	p := newProvider(t, sdk.Action[struct{}, struct{}]{Apply: func(context.Context, struct{}, sdk.Reporter) (struct{}, error) {
		return struct{}{}, nil
	}})
	for _, name := range []string{"a", "t.a"} {
		if _, err := p.Apply(context.Background(), &provider.Request{Action: name, Inputs: cty.EmptyObjectVal}); err != nil {
			t.Errorf("Apply(%q): %v", name, err)
		}
	}
	_, err := p.Apply(context.Background(), &provider.Request{Action: "b", Inputs: cty.EmptyObjectVal})
	wantError(t, err, false, nil, `t has no action "b"`)
	defer func() {
		if recover() == nil {
			t.Error("registering after serving did not panic")
		}
	}()
	p.Action("late", sdk.Action[struct{}, struct{}]{Apply: func(context.Context, struct{}, sdk.Reporter) (struct{}, error) {
		return struct{}{}, nil
	}})
}

// A goroutine an action leaves behind may keep reporting: the events are
// dropped, not sent on a finished call.
func TestReporterAfterReturn(t *testing.T) {
	var wg sync.WaitGroup
	release := make(chan struct{})
	p := newProvider(t, sdk.Action[struct{}, struct{}]{Apply: func(_ context.Context, _ struct{}, r sdk.Reporter) (struct{}, error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-release
			for i := 0; i < 100; i++ {
				r.Progress(int64(i), 100, "items")
			}
		}()
		r.Log(sdk.LevelInfo, "returning")
		return struct{}{}, nil
	}})
	var mu sync.Mutex
	var n int
	r := req(nil)
	r.Events = func(provider.Event) { mu.Lock(); n++; mu.Unlock() }
	if _, err := p.Apply(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	close(release)
	wg.Wait()
	if n != 1 {
		t.Errorf("%d events, want only the one sent before Apply returned", n)
	}
}

func TestStop(t *testing.T) {
	started := make(chan struct{})
	p := newProvider(t, sdk.Action[struct{}, struct{}]{Apply: func(ctx context.Context, _ struct{}, _ sdk.Reporter) (struct{}, error) {
		close(started)
		<-ctx.Done()
		return struct{}{}, ctx.Err()
	}})
	errc := make(chan error, 1)
	go func() {
		_, err := p.Apply(context.Background(), req(nil))
		errc <- err
	}()
	<-started
	if err := p.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-errc:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Apply after Stop: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Stop did not cancel Apply")
	}
}

func TestAllOutputs(t *testing.T) {
	type out struct {
		ID    string   `cty:"id"`
		Names []string `cty:"names"`
		_     string
		Plain string
	}
	if got := strings.Join(sdk.AllOutputs(out{}), ","); got != "id,names" {
		t.Errorf("AllOutputs(out) = %s", got)
	}
	if got := sdk.AllOutputs(&out{}); len(got) != 2 {
		t.Errorf("AllOutputs(*out) = %v", got)
	}
	if got := sdk.AllOutputs("x"); got != nil {
		t.Errorf("AllOutputs(string) = %v", got)
	}
}
