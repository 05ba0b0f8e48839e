// Package sdk is what a runbook provider author writes against: a Provider
// with typed actions whose inputs and outputs are Go structs, and Serve,
// which runs it as a plugin over go-plugin (gRPC).
//
//	p := &sdk.Provider{Name: "hello", Version: "0.1.0"}
//	p.Action("greet", sdk.Action[GreetIn, GreetOut]{
//		Description: "Greets someone.", Idempotent: true,
//		Apply: func(ctx context.Context, in GreetIn, r sdk.Reporter) (GreetOut, error) {
//			return GreetOut{Message: "Hello, " + in.Name}, nil
//		},
//	})
//	sdk.Serve(p)
//
// The schemas come from the structs: every field with a `cty:"name"` tag is
// an attribute, its cty type implied by its Go type (as gocty.ImpliedType
// does) or given by a `type:"set(string)"` tag in HCL type syntax. A
// `runbook:"required,sensitive,block"` tag sets the flags, and `help:"..."`
// the description. Values cross with gocty, so authors never handle cty
// values (unless a field is a cty.Value) and never see protocol types.
//
// *Provider implements provider.Provider, so the same value serves
// in-process (tests, or a host that links it) and over gRPC.
//
// The SDK imports the provider contract (plugins/provider, and dsl for the
// schema types) and the gRPC adapter (plugins/grpcplugin); it must not
// import the engine (runbook/) or the CLI (cmd/).
package sdk
