// Package testprovider is the provider the conformance suite
// (plugins/providertest) runs against, built with the SDK. Its actions are
// described in the suite's documentation; ./cmd serves it as a plugin.
//
// It imports only the SDK and go-cty, as any provider would.
package testprovider

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Name and Version are the provider's.
const (
	Name    = "test"
	Version = "1.0.0"
)

// DefaultBigSize is the size of big's output when its size is unset:
// 10 MiB.
const DefaultBigSize = 10 << 20

// Config is the provider's configuration.
type Config struct {
	Label string `cty:"label" help:"A label; the value \"invalid\" makes Configure fail."`
	Token string `cty:"token" runbook:"sensitive" help:"A secret; Configure's errors must not show it."`
}

// Echo is both the inputs and the outputs of echo: one attribute of each
// cty type and nested blocks. Pointers keep nulls null.
type Echo struct {
	String *string            `cty:"string" help:"A string."`
	Number *big.Float         `cty:"number" help:"A number of any size or precision."`
	Int    *int64             `cty:"int" help:"A whole number."`
	Bool   *bool              `cty:"bool"`
	List   []*string          `cty:"list"`
	Set    []string           `cty:"set" type:"set(string)"`
	Map    map[string]*string `cty:"map"`
	Object *Object            `cty:"object"`
	Tuple  cty.Value          `cty:"tuple" type:"tuple([string, number, bool])"`
	Any    cty.Value          `cty:"any" help:"A value of any type."`
	Single *Block             `cty:"single" runbook:"block"`
	Blocks []Block            `cty:"blocks" runbook:"block"`
}

// Object is echo's object attribute: an object in an object.
type Object struct {
	Name  *string            `cty:"name"`
	Tags  []string           `cty:"tags"`
	Inner *Inner             `cty:"inner"`
	Attrs map[string]float64 `cty:"attrs"`
}

// Inner is the innermost object.
type Inner struct {
	Flag *bool     `cty:"flag"`
	Nums []float64 `cty:"nums"`
}

// Block is echo's nested block, single or repeated, with blocks inside.
type Block struct {
	ID     string   `cty:"id" runbook:"required" help:"Required in every block."`
	Secret *string  `cty:"secret" runbook:"sensitive"`
	Sub    []SubBlk `cty:"sub" runbook:"block"`
}

// SubBlk is a block in a block.
type SubBlk struct {
	Value *big.Float `cty:"value"`
}

// BlockIn is block's inputs.
type BlockIn struct {
	Marker string `cty:"marker" runbook:"required" help:"A file written when the action sees its context cancelled: the time it saw it, RFC 3339 with nanoseconds."`
}

// BigIn and BigOut are big's inputs and outputs.
type BigIn struct {
	Size *int64 `cty:"size" help:"The output's size in bytes; 10 MiB when unset."`
}

// BigOut is big's outputs.
type BigOut struct {
	Data string `cty:"data"`
	Size int64  `cty:"size"`
}

// FailIn is fail's inputs.
type FailIn struct {
	Message   string   `cty:"message" runbook:"required"`
	Retryable bool     `cty:"retryable"`
	Path      []string `cty:"path" help:"The attribute path the error points at: names, integers for list indexes, #key for map keys."`
}

// LogSecretIn is log_secret's inputs.
type LogSecretIn struct {
	Secret      string       `cty:"secret" runbook:"required,sensitive"`
	Note        string       `cty:"note" help:"Not sensitive in the schema; a request's SensitivePaths may make it so."`
	Credentials *Credentials `cty:"credentials" runbook:"block"`
}

// Credentials is log_secret's nested block, with a sensitive attribute.
type Credentials struct {
	User  string `cty:"user"`
	Token string `cty:"token" runbook:"sensitive"`
}

// TouchIn is touch's inputs.
type TouchIn struct {
	Path    string `cty:"path" runbook:"required"`
	Content string `cty:"content"`
}

// TouchOut is touch's outputs.
type TouchOut struct {
	Path string `cty:"path"`
	Size int64  `cty:"size"`
}

// StartedOut is started's outputs.
type StartedOut struct {
	Started string `cty:"started"`
}

// New returns the test provider.
func New() *sdk.Provider {
	p := &sdk.Provider{Name: Name, Version: Version, Config: sdk.ConfigOf(func(_ context.Context, c Config) error {
		if c.Label == "invalid" {
			return sdk.AttributeError("label", fmt.Errorf("label %q is not accepted with token %s", c.Label, c.Token))
		}
		return nil
	})}

	p.Action("echo", sdk.Action[Echo, Echo]{
		Description: "Returns its inputs as its outputs.",
		Idempotent:  true,
		Apply: func(_ context.Context, in Echo, _ sdk.Reporter) (Echo, error) {
			return in, nil
		},
		Plan: func(_ context.Context, in Echo) (Echo, []string, error) {
			return in, []string{"string", "number", "int", "bool", "list", "set", "map", "object", "tuple", "any", "single", "blocks"}, nil
		},
	})

	p.Action("block", sdk.Action[BlockIn, struct{}]{
		Description: "Blocks until its context is cancelled, then writes the time to the marker file.",
		Apply: func(ctx context.Context, in BlockIn, r sdk.Reporter) (struct{}, error) {
			r.Log(sdk.LevelInfo, "blocking")
			select {
			case <-ctx.Done():
			case <-time.After(time.Minute):
				return struct{}{}, errors.New("never cancelled")
			}
			seen := time.Now().Format(time.RFC3339Nano)
			if err := os.WriteFile(in.Marker, []byte(seen), 0o644); err != nil {
				return struct{}{}, err
			}
			return struct{}{}, ctx.Err()
		},
	})

	p.Action("big", sdk.Action[BigIn, BigOut]{
		Description: "Returns a large string.",
		Idempotent:  true,
		Apply: func(_ context.Context, in BigIn, r sdk.Reporter) (BigOut, error) {
			size := int64(DefaultBigSize)
			if in.Size != nil {
				size = *in.Size
			}
			if size < 0 {
				return BigOut{}, sdk.AttributeError("size", errors.New("size must not be negative"))
			}
			r.Progress(0, size, "bytes")
			data := BigData(size)
			r.Progress(size, size, "bytes")
			return BigOut{Data: data, Size: size}, nil
		},
	})

	p.Action("fail", sdk.Action[FailIn, struct{}]{
		Description: "Fails with the message, retryable or not, pointing at the path.",
		Apply: func(_ context.Context, in FailIn, _ sdk.Reporter) (struct{}, error) {
			err := errors.New(in.Message)
			if len(in.Path) > 0 {
				err = sdk.AttributePathError(ParsePath(in.Path), err)
			}
			if in.Retryable {
				err = sdk.Retryable(err)
			}
			return struct{}{}, err
		},
	})

	p.Action("log_secret", sdk.Action[LogSecretIn, struct{}]{
		Description: "Logs its sensitive inputs and fails with them in the message, in Plan, Apply and Check.",
		Apply: func(_ context.Context, in LogSecretIn, r sdk.Reporter) (struct{}, error) {
			r.Log(sdk.LevelInfo, "user="+in.user()+" secret="+in.Secret+" note="+in.Note+" token="+in.token())
			r.Log(sdk.LevelDebug, fmt.Sprintf("all: %+v %+v", in, in.Credentials))
			r.Progress(1, 2, "steps with "+in.Secret)
			return struct{}{}, in.err("apply")
		},
		Plan: func(_ context.Context, in LogSecretIn) (struct{}, []string, error) {
			return struct{}{}, nil, in.err("plan")
		},
		Check: func(_ context.Context, in LogSecretIn, _ time.Time) (sdk.CheckResult, struct{}, error) {
			return sdk.Unknown, struct{}{}, in.err("check")
		},
	})

	p.Action("touch", sdk.Action[TouchIn, TouchOut]{
		Description: "Writes content to the file at path.",
		Mutating:    true,
		Idempotent:  true,
		Apply: func(_ context.Context, in TouchIn, _ sdk.Reporter) (TouchOut, error) {
			if err := os.WriteFile(in.Path, []byte(in.Content), 0o644); err != nil {
				return TouchOut{}, sdk.AttributeError("path", err)
			}
			return TouchOut{Path: in.Path, Size: int64(len(in.Content))}, nil
		},
		Plan: func(_ context.Context, in TouchIn) (TouchOut, []string, error) {
			return TouchOut{Path: in.Path}, []string{"path"}, nil
		},
		Check: func(_ context.Context, in TouchIn, _ time.Time) (sdk.CheckResult, TouchOut, error) {
			b, err := os.ReadFile(in.Path)
			switch {
			case errors.Is(err, os.ErrNotExist):
				return sdk.NotApplied, TouchOut{}, nil
			case err != nil:
				return sdk.Unknown, TouchOut{}, err
			case string(b) != in.Content:
				return sdk.Unknown, TouchOut{}, nil
			}
			return sdk.Applied, TouchOut{Path: in.Path, Size: int64(len(b))}, nil
		},
	})

	p.Action("started", sdk.Action[struct{}, StartedOut]{
		Description: "Check answers Applied with the time the interrupted attempt started.",
		Apply: func(context.Context, struct{}, sdk.Reporter) (StartedOut, error) {
			return StartedOut{}, nil
		},
		Check: func(_ context.Context, _ struct{}, started time.Time) (sdk.CheckResult, StartedOut, error) {
			if started.IsZero() {
				return sdk.Applied, StartedOut{Started: "zero"}, nil
			}
			return sdk.Applied, StartedOut{Started: started.UTC().Format(time.RFC3339Nano)}, nil
		},
	})

	p.Action("crash", sdk.Action[struct{}, struct{}]{
		Description: "Exits the provider's process with status 3 in the middle of Apply. Never call it in-process.",
		Mutating:    true,
		Apply: func(_ context.Context, _ struct{}, r sdk.Reporter) (struct{}, error) {
			r.Log(sdk.LevelWarn, "crashing")
			os.Exit(3)
			return struct{}{}, nil
		},
	})
	return p
}

func (in LogSecretIn) user() string {
	if in.Credentials == nil {
		return ""
	}
	return in.Credentials.User
}

func (in LogSecretIn) token() string {
	if in.Credentials == nil {
		return ""
	}
	return in.Credentials.Token
}

func (in LogSecretIn) err(op string) error {
	return fmt.Errorf("%s: login with %s failed (note %s, token %s)", op, in.Secret, in.Note, in.token())
}

// BigData is big's output of the given size.
func BigData(size int64) string {
	const unit = "0123456789abcdef"
	var b strings.Builder
	b.Grow(int(size))
	for int64(b.Len())+int64(len(unit)) <= size {
		b.WriteString(unit)
	}
	b.WriteString(unit[:size-int64(b.Len())])
	return b.String()
}

// ParsePath reads fail's path: names are attributes, integers list
// indexes, #key map keys.
func ParsePath(steps []string) cty.Path {
	var p cty.Path
	for _, s := range steps {
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			p = p.IndexInt(int(n))
		} else if key, ok := strings.CutPrefix(s, "#"); ok {
			p = p.IndexString(key)
		} else {
			p = p.GetAttr(s)
		}
	}
	return p
}
