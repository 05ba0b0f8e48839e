package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/containerd/errdefs/pkg/errhttp"
	"github.com/moby/moby/client"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// apiError is a client error with what it was about (`image "app:1"`) in
// front of the daemon's message; the client's error stays in the chain, so
// that errdefs.IsNotFound and the like still see it.
type apiError struct {
	msg string
	err error
}

func (e *apiError) Error() string { return e.msg }
func (e *apiError) Unwrap() error { return e.err }

// apiErr is the one place a client error becomes an action's. what names
// the object (`image "app:1"`, `container "web"`). Retryable are the
// failures that another try may not meet: the daemon could not be reached,
// the connection broke, or it answered 5xx (501 aside). Not found,
// conflicts and bad input are final, and so is the end of ctx (the engine
// knows why it ended).
func apiErr(c *client.Client, what string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%s: %w", what, err)
	}
	if client.IsErrConnectionFailed(err) {
		return sdk.Retryable(unreachable(c, err))
	}
	msg := strings.TrimPrefix(err.Error(), "Error response from daemon: ")
	e := &apiError{msg: what + ": " + msg, err: err}
	if isServerError(err) || isBrokenConnection(err) {
		return sdk.Retryable(e)
	}
	return e
}

// unreachable says which daemon could not be reached, and why, in the
// words of the dial error when the client kept it. When it did not (a
// refused connection or a timeout), its own message would only repeat the
// address.
func unreachable(c *client.Client, err error) error {
	detail := err.Error()
	var op *net.OpError
	switch {
	case errors.As(err, &op):
		detail = op.Error()
	case strings.HasPrefix(detail, "Cannot connect to the Docker daemon"):
		detail = "the connection was refused or timed out; is the daemon running?"
	}
	return &apiError{msg: fmt.Sprintf("cannot reach the daemon at %s: %s", c.DaemonHost(), detail), err: err}
}

// isServerError reports a 5xx answer other than 501. The client keeps the
// status only as an errdefs kind; statuses without one (502, 504) are an
// internal errhttp value, which ToNative returns for comparison.
func isServerError(err error) bool {
	if cerrdefs.IsInternal(err) || cerrdefs.IsUnavailable(err) {
		return true
	}
	for code := http.StatusBadGateway; code < 600; code++ {
		if errors.Is(err, errhttp.ToNative(code)) {
			return true
		}
	}
	return false
}

// isBrokenConnection reports a connection lost in the middle of an answer
// (the daemon restarted while streaming a tar, say).
func isBrokenConnection(err error) bool {
	var ne net.Error
	return errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &ne)
}

// isUnavailable reports the errors a dry-run shrugs off: the daemon is
// down or failing, so what it holds is not known yet.
func isUnavailable(err error) bool {
	return client.IsErrConnectionFailed(err) || isServerError(err) || isBrokenConnection(err)
}

// quote names an image or container in messages.
func quote(kind, name string) string { return kind + " " + fmt.Sprintf("%q", name) }
