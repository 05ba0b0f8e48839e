// Package manager is the runbook provider of the Cloudify Manager REST API
// v3.1: snapshots (create, list, get, download, upload, restore, restore
// status, delete), maintenance mode, executions (start, wait with their
// events and logs, cancel), plugins updates, cluster status and manager
// status. New returns it as an *sdk.Provider, which tests use in-process and
// cmd/runbook-provider-manager serves as a plugin.
//
// The HTTP work is plugins/manager/client's; this package maps actions onto
// it and decides what a runbook needs on top: waiting for end states,
// adopting what an earlier attempt of the same step started (a step's retry
// must not start a second snapshot or restore), streaming execution events
// into the step's log, reporting the executions a restore marked overdue
// (seed 002), Plan without any mutating request, and Check for resume.
//
// Errors keep the client's message (method, path, status code, error_code
// and the API's message); they are retryable exactly when
// client.IsRetryable says so: a 5xx answer or no answer at all.
//
// The action names, inputs and outputs listed in DESIGN.md ("provider
// manager") are a contract: add to them, never rename. The package imports
// the SDK and the client only; it must not import the engine or the CLI.
package manager
