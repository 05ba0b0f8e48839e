package sdk

import (
	"errors"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
)

// An action's error is not retryable unless wrapped with Retryable, and
// points at no input unless wrapped with AttributeError. The two compose
// in either order:
//
//	return Out{}, sdk.Retryable(sdk.AttributeError("url", err))
//
// Before an error leaves the provider its message is redacted: every
// sensitive input value in it reads "(sensitive)".

// Retryable marks err as transient: the engine may run the action again
// (within the step's retry policy). Retryable(nil) is nil.
func Retryable(err error) error {
	if err == nil {
		return nil
	}
	return &retryableError{err: err}
}

// AttributeError says that the input attribute name caused err; the engine
// points its diagnostic at where the runbook set that attribute. Its
// message is err's. AttributeError(name, nil) is nil.
func AttributeError(name string, err error) error {
	return AttributePathError(cty.GetAttrPath(name), err)
}

// AttributePathError is AttributeError for a nested attribute, such as an
// attribute of the second block of a list: cty.GetAttrPath("target").IndexInt(1).GetAttr("host").
func AttributePathError(path cty.Path, err error) error {
	if err == nil {
		return nil
	}
	return &attributeError{path: path.Copy(), err: err}
}

type retryableError struct{ err error }

func (e *retryableError) Error() string { return e.err.Error() }
func (e *retryableError) Unwrap() error { return e.err }

type attributeError struct {
	path cty.Path
	err  error
}

func (e *attributeError) Error() string { return e.err.Error() }
func (e *attributeError) Unwrap() error { return e.err }

// redactedError keeps the chain of the error it redacts (so that
// errors.Is(err, context.Canceled) still holds in-process) while its
// message is the redacted one.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// toProviderError is the one place an action's error becomes the
// contract's: retryable flag and attribute path read from the wrappers (or
// from a *provider.Error the author returned), message redacted.
func toProviderError(err error, red *redactor, prefix string) error {
	if err == nil {
		return nil
	}
	var (
		re *retryableError
		ae *attributeError
		pe *provider.Error
	)
	out := &provider.Error{}
	if errors.As(err, &pe) {
		out.Retryable = pe.Retryable
		out.Attribute = pe.Attribute
	}
	if errors.As(err, &re) {
		out.Retryable = true
	}
	if errors.As(err, &ae) {
		out.Attribute = ae.path
	}
	msg := err.Error()
	if prefix != "" && !strings.HasPrefix(msg, prefix+":") {
		msg = prefix + ": " + msg
	}
	out.Err = &redactedError{msg: red.Redact(msg), err: err}
	return out
}
