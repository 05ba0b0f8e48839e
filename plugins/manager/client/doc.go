// Package client is a Go client of the Cloudify Manager REST API v3.1: the
// snapshots, snapshot-restore status, maintenance mode, executions, events and
// logs, plugins updates, manager status, cluster status and manager nodes
// endpoints that a disaster-recovery runbook drives.
//
// It speaks the API only: it knows nothing of runbooks, providers or cty, and
// it imports only the standard library. The provider in plugins/manager maps
// actions onto it.
//
// The shapes and quirks it follows come from the REST service
// (cloudify-cosmo/cloudify-manager, rest-service/manager_rest), the official
// Python client (cloudify-cosmo/cloudify-common, cloudify_rest_client) and the
// REST reference (cloudify-cosmo/cloudify-rest-docs), as summarised in the
// project's reference/apis.md section 1. Where managers of different
// generations answer differently (the /snapshot-status strings, the restore
// request body, the /status and /cluster-status shapes, the
// remaining_executions quirk of /maintenance/activate) the client accepts
// both and hands back one normalised Go value, keeping the raw field where a
// caller may want it.
//
// Waiting: WaitExecution follows an execution and streams its events and
// logs; WaitRestore follows a restore through the manager's restart;
// WaitSnapshotRestore and WaitMaintenance poll /snapshot-status and
// /maintenance. They wait out outages (refused connections, 5xx) until their
// context ends.
//
// Errors: a non-2xx answer is an *APIError (method, path, status code, the
// API's error_code and message); a request that never got an answer is a
// *ConnError. Both have Retryable(); see IsRetryable. No error ever carries
// the password, the token or an Authorization header.
package client
