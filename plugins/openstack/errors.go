package openstack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"syscall"

	"github.com/gophercloud/gophercloud/v2"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// HTTPError is a call the cloud refused: the request (method and URL
// path), the status, and the message Nova, Neutron or Keystone put in the
// body. The SDK puts the action's name in front of it.
type HTTPError struct {
	Method  string
	Path    string // the URL's path and query, without scheme and host
	Status  int
	Message string
	err     error
}

func (e *HTTPError) Error() string {
	msg := fmt.Sprintf("%s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

func (e *HTTPError) Unwrap() error { return e.err }

// apiError is the one place a gophercloud error becomes an action's error:
// an HTTP refusal reads "POST /v2.1/servers/ID/action: 409 Conflict:
// <Nova's message>", and the error is retryable exactly when isRetryable
// says so. nil stays nil.
func apiError(err error) error {
	if err == nil {
		return nil
	}
	var he *HTTPError
	if !errors.As(err, &he) {
		var rc gophercloud.ErrUnexpectedResponseCode
		if errors.As(err, &rc) {
			err = newHTTPError(rc)
		} else if pr, ok := asErrUnexpectedPtr(err); ok {
			err = newHTTPError(*pr)
		}
	}
	if isRetryable(err) {
		return sdk.Retryable(err)
	}
	return err
}

// asErrUnexpectedPtr finds a *ErrUnexpectedResponseCode (gophercloud
// returns values, but wraps pointers in ErrErrorAfterReauthentication).
func asErrUnexpectedPtr(err error) (*gophercloud.ErrUnexpectedResponseCode, bool) {
	var p *gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &p) && p != nil {
		return p, true
	}
	return nil, false
}

func newHTTPError(rc gophercloud.ErrUnexpectedResponseCode) *HTTPError {
	path := rc.URL
	if u, err := url.Parse(rc.URL); err == nil {
		path = u.EscapedPath()
		if u.RawQuery != "" {
			path += "?" + u.RawQuery
		}
	}
	return &HTTPError{Method: rc.Method, Path: path, Status: rc.Actual, Message: bodyMessage(rc.Body), err: rc}
}

// bodyMessage finds the message in an OpenStack error body:
// Nova's {"conflictingRequest": {"code": 409, "message": "..."}},
// Neutron's {"NeutronError": {"type": "...", "message": "...", "detail": ""}},
// Keystone's {"error": {"code": 401, "title": "...", "message": "..."}}, or
// a bare {"message": "..."}. Anything else is shown trimmed.
func bodyMessage(body []byte) string {
	text := strings.TrimSpace(string(body))
	if text == "" {
		return ""
	}
	var top map[string]json.RawMessage
	if json.Unmarshal(body, &top) == nil {
		if m := messageOf(top); m != "" {
			return m
		}
		keys := make([]string, 0, len(top))
		for k := range top {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			var inner map[string]json.RawMessage
			if json.Unmarshal(top[k], &inner) == nil {
				if m := messageOf(inner); m != "" {
					return m
				}
			}
		}
	}
	if strings.HasPrefix(text, "<") {
		// An HTML error page from a proxy: its text, tags dropped.
		text = stripTags(text)
	}
	const limit = 300
	if len(text) > limit {
		text = text[:limit] + "..."
	}
	return text
}

func messageOf(m map[string]json.RawMessage) string {
	for _, k := range []string{"message", "faultstring", "detail"} {
		var s string
		if raw, ok := m[k]; ok && json.Unmarshal(raw, &s) == nil && s != "" {
			return strings.TrimSpace(s)
		}
	}
	return ""
}

func stripTags(s string) string {
	var b strings.Builder
	in := false
	for _, r := range s {
		switch {
		case r == '<':
			in = true
		case r == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(r)
		}
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

// statusOf is the HTTP status of a refused call, 0 for other errors.
func statusOf(err error) int {
	var he *HTTPError
	if errors.As(err, &he) {
		return he.Status
	}
	var rc gophercloud.ErrUnexpectedResponseCode
	if errors.As(err, &rc) {
		return rc.Actual
	}
	if p, ok := asErrUnexpectedPtr(err); ok {
		return p.Actual
	}
	return 0
}

func isNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// isRetryable says whether the same call may succeed later:
//
//   - 5xx: Nova, Neutron or a proxy in front of them failed, or is
//     restarting (500, 502, 503, 504); apis.md lists no 5xx that means
//     "never";
//   - 429 Too Many Requests: rate limited;
//   - 409 Conflict only when the resource is busy: Nova's
//     InstanceInvalidState "Cannot 'X' instance Y while it is in
//     task_state Z" ends when the task does. A 409 about a vm_state, a
//     locked instance, a port or IP in use, or a duplicate does not clear
//     by itself, so it is not retried;
//   - no answer at all: connection refused or reset, a dropped connection
//     (EOF), a network timeout. A cancelled or expired context is never
//     retryable: the engine decided to stop.
//
// 4xx otherwise (400 bad body, 401 after re-authentication, 403, 404) are
// the runbook's to fix, and not retried.
func isRetryable(err error) bool {
	if err == nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	if st := statusOf(err); st != 0 {
		switch {
		case st >= 500:
			return true
		case st == http.StatusTooManyRequests:
			return true
		case st == http.StatusConflict:
			return busyConflict(err)
		}
		return false
	}
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE):
		return true
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return true
	case errors.As(err, &ne) && ne.Timeout():
		return true
	}
	var (
		cve *tls.CertificateVerificationError
		uae x509.UnknownAuthorityError
		hne x509.HostnameError
		cie x509.CertificateInvalidError
	)
	if errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &hne) || errors.As(err, &cie) {
		return false // a certificate the transport refuses stays refused
	}
	var ue *url.Error
	return errors.As(err, &ue) // any other transport failure: DNS, a handshake cut short
}

// busyConflict recognises the 409s that end by themselves: an instance
// (or a port) in the middle of a task.
func busyConflict(err error) bool {
	var he *HTTPError
	msg := err.Error()
	if errors.As(err, &he) {
		msg = he.Message
	}
	msg = strings.ToLower(msg)
	return strings.Contains(msg, "task_state") || strings.Contains(msg, "is busy") || strings.Contains(msg, "in progress")
}

// notFoundErr is a lookup by name or id that matched nothing.
type notFoundErr struct{ what, ref string }

func (e *notFoundErr) Error() string { return fmt.Sprintf("%s %q not found", e.what, e.ref) }

// notFoundError is what a lookup by name or id says when nothing matches;
// it points at the input.
func notFoundError(attr, what, ref string) error {
	return attrErr(attr, &notFoundErr{what, ref})
}

// isNotFoundInput says err is a lookup that found nothing.
func isNotFoundInput(err error) bool {
	var nf *notFoundErr
	return errors.As(err, &nf)
}
