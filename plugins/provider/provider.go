// Package provider is the contract between the engine and the providers:
// the Provider interface, its request and response types, progress events
// and the error type that says whether a failure may be retried.
//
// The built-in core provider implements it in-process; the plugin host
// implements it over gRPC, so the engine cannot tell them apart. It imports
// only the language's schema types (dsl) and go-cty; it must not import the
// engine.
package provider

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
)

// Provider serves a provider's actions. Every method takes a context whose
// cancellation must stop the work promptly.
type Provider interface {
	// Schema describes the configuration and every action.
	Schema(ctx context.Context) (*dsl.ProviderSchema, error)
	// Configure is called once, before any other call but Schema, with the
	// provider block's evaluated configuration (a null object when none).
	Configure(ctx context.Context, config cty.Value) error
	// Plan predicts an action's outputs without changing anything; dry-run
	// uses it in place of Apply. Unknown outputs are cty unknowns.
	Plan(ctx context.Context, req *Request) (*Response, error)
	// Apply performs the action, reporting progress through req.Events.
	Apply(ctx context.Context, req *Request) (*Response, error)
	// Check tells, on resume, whether an Apply interrupted mid-flight took
	// effect: Applied with the outputs, NotApplied, or Unknown.
	Check(ctx context.Context, req *CheckRequest) (*CheckResponse, error)
	// Close releases the provider (and stops its process, for plugins).
	Close() error
}

// Request asks for one action with evaluated inputs.
type Request struct {
	Action string
	// Inputs is an object of the action's input schema's type. Sensitive
	// values are unmarked; SensitivePaths says which they were, so that a
	// provider can keep them out of its logs.
	Inputs         cty.Value
	SensitivePaths []cty.Path
	// RunID and Step identify the call, for idempotency keys and logs.
	RunID string
	Step  string
	// Events receives progress and log lines; it may be nil.
	Events func(Event)
}

// Response carries an action's outputs: an object of the action's output
// types.
type Response struct {
	Outputs cty.Value
}

// CheckRequest asks whether an interrupted Apply took effect.
type CheckRequest struct {
	Request
	// Started is when the interrupted attempt began.
	Started time.Time
}

// CheckResult is what a provider knows about an interrupted Apply.
type CheckResult int

// The answers to a CheckRequest. The zero value is Unknown, so that a
// provider that cannot tell never claims a side effect did or did not
// happen.
const (
	Unknown    CheckResult = iota // cannot tell: the engine asks the operator (--rerun)
	Applied                       // the effect is in place; Outputs are what Apply would return
	NotApplied                    // nothing happened; the engine runs the action again
)

// CheckResponse answers a CheckRequest.
type CheckResponse struct {
	Result  CheckResult
	Outputs cty.Value
}

// EventKind says what an Event reports.
type EventKind int

// The kinds of event a provider sends while it works.
const (
	EventLog      EventKind = iota // a log line, with Level
	EventProgress                  // Done out of Total units (bytes, items)
)

// Event is a progress report or a log line from a running action.
type Event struct {
	Kind    EventKind
	Level   string // "debug", "info", "warn", "error"
	Message string
	Done    int64
	Total   int64 // 0 when unknown
	Unit    string
}

// Error is a failed action. Providers return it (or wrap it) to say whether
// the engine may retry and which input caused the failure.
type Error struct {
	Message   string
	Retryable bool
	// Attribute names the input at fault, if any; the engine points the
	// diagnostic at its source range.
	Attribute cty.Path
	Err       error
}

func (e *Error) Error() string {
	if e.Err != nil && e.Message == "" {
		return e.Err.Error()
	}
	if e.Err != nil {
		return e.Message + ": " + e.Err.Error()
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether err, or an error it wraps, is a retryable
// provider Error.
func Retryable(err error) bool {
	var pe *Error
	return errors.As(err, &pe) && pe.Retryable
}

// Errorf returns a non-retryable Error.
func Errorf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// RetryableErrorf returns a retryable Error.
func RetryableErrorf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...), Retryable: true}
}

// Diagnostic is a problem a provider found in a configuration or in an
// action's inputs, pointing at the attribute; the host adds the source
// range the attribute came from.
type Diagnostic struct {
	Severity  hcl.DiagnosticSeverity
	Summary   string
	Detail    string
	Attribute cty.Path
}

// Validator is an optional capability: checks of an action's inputs beyond
// what the schema says (a value's format, two inputs that exclude each
// other), made before anything runs.
type Validator interface {
	Validate(ctx context.Context, action string, inputs cty.Value) ([]Diagnostic, error)
}

// Stopper is an optional capability: Stop asks the provider to cancel
// everything in flight at once, before the host closes it.
type Stopper interface {
	Stop(ctx context.Context) error
}

// InheritedEnv is runbook's environment without what a child process
// (a command, a plugin) must not inherit: the runbook variables
// (RUNBOOK_VAR_*: a sensitive one would reach the child unmarked, and
// whatever it prints, outputs included, would be shown and journaled in
// clear; a step passes what a command needs through env) and runbook's own
// credentials, the journal key and the state backend's connection string.
func InheritedEnv(environ []string) []string {
	out := make([]string, 0, len(environ))
	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "RUNBOOK_VAR_") || k == "RUNBOOK_JOURNAL_KEY" || k == "RUNBOOK_BACKEND_CONN_STR" {
			continue
		}
		out = append(out, kv)
	}
	return out
}
