// Command runbook-provider-hello is the smallest runbook provider: hello.greet.
package main

import (
	"context"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

type Config struct {
	Greeting string `cty:"greeting" help:"The word to greet with; Hello when unset."`
}

type GreetIn struct {
	Name string `cty:"name" runbook:"required" help:"Who to greet."`
}

type GreetOut struct {
	Message string `cty:"message"`
}

func main() {
	greeting := "Hello"
	p := &sdk.Provider{Name: "hello", Version: "0.1.0", Config: sdk.ConfigOf(func(ctx context.Context, c Config) error {
		if c.Greeting != "" {
			greeting = c.Greeting
		}
		return nil
	})}
	p.Action("greet", sdk.Action[GreetIn, GreetOut]{
		Description: "Greets someone.", Idempotent: true,
		Apply: func(ctx context.Context, in GreetIn, r sdk.Reporter) (GreetOut, error) {
			r.Log(sdk.LevelInfo, "greeting "+in.Name)
			return GreetOut{Message: greeting + ", " + in.Name + "!"}, nil
		},
	})
	sdk.Serve(p)
}
