// Package manager simulates a Cloudify Manager's REST API v3.1 in memory,
// as far as the shipped DR runbooks need it (seeds 000 manager recovery, 001
// cluster failure recovery, 002 backup and restore): authentication and
// tenants, tokens, snapshots (create, list, download, upload, restore,
// delete), /snapshot-status, maintenance mode, executions with their events
// and logs, plugins updates, blueprints, deployments, plugins, cluster
// status and manager nodes, and the health endpoints. Executions run
// asynchronously on an injectable clock; a restore makes the manager answer
// 503 in_snapshot_restore_error and then be unreachable while it
// "restarts". Control endpoints under /_sim inject faults, list the requests
// received and reset the estate. docs/simulators.md documents the estate
// format and the control endpoints.
//
// It owns nothing but the simulator: it imports no engine, DSL or plugin
// package, and nothing but tests, the CLI's `runbook sim manager` and drills
// import it.
//
// # What was followed
//
// The summary in /work/shared/reference/apis.md section 1, checked against
// the real source (public repositories; paths as in those repositories):
//
// cloudify-cosmo/cloudify-manager:
//   - rest-service/manager_rest/manager_exceptions.py: error codes, HTTP
//     statuses, the {"message","error_code","server_traceback":null} body,
//     UnauthorizedError's "User unauthorized: ..." prefix,
//     SystemInSnapshotRestoreError (503, raised without a message).
//   - rest-service/manager_rest/security/authentication.py and
//     security/user_handler.py: Basic before Authentication-Token; "No
//     authentication info provided", "Authentication failed for <User
//     username=`x`>"; ctok-<id>-<secret> tokens ("Invalid token structure",
//     "Unauthorized", "Token is expired").
//   - rest-service/manager_rest/security/authorization.py: an unknown Tenant
//     is 403 "Authorization failed: Tried to authenticate with invalid tenant
//     name: X"; "User `u` is not permitted to perform the action A in the
//     tenant `T`"; deactivated users.
//   - rest-service/manager_rest/storage/storage_manager.py: "Requested
//     `Model` with ID `id` was not found", the conflict message,
//     pagination (default and maximum page size 1000, "Invalid pagination
//     size"), metadata {"pagination": {total, size, offset}}.
//   - rest-service/manager_rest/rest/rest_utils.py:
//     get_json_and_verify_params (415 unless Content-Type is exactly
//     application/json, "Missing X in json request body", type checks),
//     verify_and_convert_bool (null is a 400), convert_to_int,
//     validate_inputs, make_streaming_response's headers.
//   - rest-service/manager_rest/rest/resources_v2/snapshots.py and
//     resources_v3_1/snapshots.py: snapshot create/delete/download/upload/
//     restore, "Failed snapshot cannot be downloaded", restore's
//     marshal_with(models.Snapshot) quirk, the restore body (and, in older
//     versions, required recreate_deployments_envs), /snapshot-status as an
//     unauthenticated Resource with cloudify-common cloudify/snapshots.py
//     STATES (running / not-running).
//   - rest-service/manager_rest/resource_manager.py: create_snapshot,
//     restore_snapshot ("Failed snapshot cannot be restored"),
//     prepare_executions / check_for_executions / _check_for_running_executions
//     (existing_running_execution_error messages, queueing),
//     cancel_execution (cancel / force-cancel / kill, "Can't cancel
//     execution X because it's in status Y", "Requested `Execution` ['X']
//     was not found"), resume_execution, start_queued_executions.
//   - rest-service/manager_rest/rest/resources_v1/executions.py: POST
//     /executions (parameters must be a dict, scheduled_time, force_status),
//     POST /executions/{id} actions and "Invalid action" message.
//   - rest-service/manager_rest/maintenance.py, constants.py
//     (ALLOWED_MAINTENANCE_ENDPOINTS) and
//     rest/resources_v2_1/maintenance_mode.py: activating vs activated, the
//     endpoints refused while draining, the 503 message, 304s, the
//     remaining_executions trailing-comma quirk, deactivate starting queued
//     executions.
//   - rest-service/manager_rest/rest/resources_v3_1/tokens.py: POST /tokens
//     and ctok values; resources_v3_1/status.py: /ok ("OK"/"FAIL"), /status.
//   - rest-service/manager_rest/rest/resources_v3_1/plugins.py: POST
//     plugins-updates/<id>/update/<phase> and its body types.
//   - rest-service/manager_rest/rest/resources_v3_1/cluster_status.py:
//     ClusterStatus is SecuredResourceBannedSnapshotRestore.
//   - workflows/cloudify_system_workflows/snapshots/snapshot_restore.py:
//     restoring onto a manager with blueprints needs force ("Snapshot
//     restoration on a non-empty manager is not permitted...").
//
// cloudify-cosmo/cloudify-rest-docs: content/_snapshots.md,
// content/_executions.md, content/_events.md (event and log shapes),
// content/_cluster.md (/managers, /cluster-status), content/_manager.md
// (/version, /status).
//
// The 5.0-era /snapshot-status sentences and the overdue scheduled
// executions log line come from the Cloudify "Backup and Restore Guide"
// (seed 002); the code has answered running/not-running since 2019.
//
// Where the simulator guesses (messages not found in the source, the
// events emitted by a workflow, what a restore does to executions that were
// running when the snapshot was taken), docs/simulators.md says so.
package manager
