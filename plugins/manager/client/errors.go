package client

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error codes the manager puts in error_code (manager_rest/manager_exceptions.py),
// plus not_modified, which the Python client makes up for an empty 304.
const (
	CodeBadParameters            = "bad_parameters_error"
	CodeSnapshotAction           = "snapshot_action_error"
	CodeExistingRunningExecution = "existing_running_execution_error"
	CodeIllegalAction            = "illegal_action_error"
	CodeUnauthorized             = "unauthorized_error"
	CodeForbidden                = "forbidden_error"
	CodeNotFound                 = "not_found_error"
	CodeConflict                 = "conflict_error"
	CodeInternalServer           = "internal_server_error"
	CodeInSnapshotRestore        = "in_snapshot_restore_error"
	CodeMaintenanceModeActive    = "maintenance_mode_active"
	CodeEnteringMaintenanceMode  = "entering_maintenance_mode"
	CodeNotModified              = "not_modified"
)

// APIError is an answer of the manager outside 2xx.
type APIError struct {
	Method     string // HTTP method
	Path       string // the request's path, without the query string
	StatusCode int
	Code       string // the API's error_code; "" when the body was not the API's error JSON
	Message    string // the API's message, or a short excerpt of a non-JSON body
	// Traceback is the server_traceback field; managers send it only in
	// debug mode. It is never part of Error().
	Traceback string
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "manager API %s %s: %d", e.Method, e.Path, e.StatusCode)
	if e.Code != "" {
		b.WriteString(" " + e.Code)
	} else if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// Retryable reports whether the same request may succeed later: true for
// every 5xx, including 503 while the manager is in maintenance mode or
// restoring a snapshot, and 502/504 from the manager's nginx while the REST
// service restarts.
func (e *APIError) Retryable() bool { return e.StatusCode >= 500 && e.StatusCode <= 599 }

// ConnError is a request that got no HTTP answer: refused or reset
// connections, DNS and TLS failures, timeouts, a body cut short.
type ConnError struct {
	Method string
	Path   string
	Err    error
	// permanent marks failures that waiting cannot cure: the manager's
	// certificate does not verify, or it does not speak TLS.
	permanent bool
}

func (e *ConnError) Error() string {
	return fmt.Sprintf("manager API %s %s: %v", e.Method, e.Path, e.Err)
}

func (e *ConnError) Unwrap() error { return e.Err }

// Retryable is true (the manager may be restarting) except when the
// certificate does not verify against the CA or the server does not speak
// TLS: a configuration error, not an outage.
func (e *ConnError) Retryable() bool { return !e.permanent }

func isPermanentTLS(err error) bool {
	var (
		cv *tls.CertificateVerificationError
		ua x509.UnknownAuthorityError
		he x509.HostnameError
		ci x509.CertificateInvalidError
		rh tls.RecordHeaderError
	)
	return errors.As(err, &cv) || errors.As(err, &ua) || errors.As(err, &he) ||
		errors.As(err, &ci) || errors.As(err, &rh)
}

// IsRetryable reports whether err, or an error it wraps, says it is
// retryable (an *APIError with a 5xx status or a *ConnError).
func IsRetryable(err error) bool {
	var r interface{ Retryable() bool }
	return errors.As(err, &r) && r.Retryable()
}

// IsNotFound reports whether err is the manager's 404.
func IsNotFound(err error) bool { return hasStatus(err, http.StatusNotFound) }

// IsNotModified reports whether err is the manager's 304, which
// /maintenance/activate and /maintenance/deactivate answer when the mode is
// already in the requested state.
func IsNotModified(err error) bool { return hasStatus(err, http.StatusNotModified) }

// IsUnauthorized reports whether err is the manager's 401.
func IsUnauthorized(err error) bool { return hasStatus(err, http.StatusUnauthorized) }

// ErrorCode returns the API's error_code of err, or "".
func ErrorCode(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.Code
	}
	return ""
}

func hasStatus(err error, code int) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.StatusCode == code
}

// ExecutionError is what WaitExecution returns with an execution that ended
// failed or cancelled.
type ExecutionError struct {
	ID         string
	WorkflowID string
	Status     string
	Message    string // the execution's error field
}

func (e *ExecutionError) Error() string {
	s := fmt.Sprintf("manager execution %s (%s) %s", e.ID, e.WorkflowID, e.Status)
	if e.Message != "" {
		s += ": " + summaryLine(e.Message)
	}
	return s
}

// summaryLine shortens a workflow error to one line: the exception line of a
// Python traceback, otherwise the first line.
func summaryLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if strings.HasPrefix(lines[0], "Traceback") {
		for i := len(lines) - 1; i >= 0; i-- {
			if l := strings.TrimSpace(lines[i]); l != "" {
				return l
			}
		}
	}
	return strings.TrimSpace(lines[0])
}
