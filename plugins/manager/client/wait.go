package client

import (
	"context"
	"fmt"
	"time"
)

// eventBatch is the page size of WaitExecution's event polling, the Python
// CLI's batch_size.
const eventBatch = 100

// WaitExecution polls execution id every interval (<= 0: DefaultPollInterval)
// until it reaches an end state, handing every new event and log line to
// onEvent (may be nil) in the manager's order, each once.
//
// It follows the Python CLI's wait_for_execution
// (cloudify_cli/execution_events_fetcher.py): events are paged by offset
// sorted by timestamp; once the execution has ended it keeps reading until a
// workflow_succeeded/failed/cancelled event arrived, or for one more round.
//
// Retryable errors (5xx, connection failures) are waited out until ctx
// ends; the error then wraps the context's and names the last one (it is not
// retryable). Any other error is returned at once. An execution that ended failed or cancelled is returned
// with an *ExecutionError; terminated returns a nil error.
func (c *Client) WaitExecution(ctx context.Context, id string, interval time.Duration, onEvent func(Event)) (*Execution, error) {
	if err := needID("execution", id); err != nil {
		return nil, err
	}
	interval = pollInterval(interval)
	what := "waiting for execution " + id
	var (
		exec      *Execution
		offset    int
		sawEnd    bool
		lastRound bool
		lastErr   error
	)
	for {
		roundOK := true // no retryable error this round
		if exec == nil || !exec.Ended() {
			e, err := c.Executions.get(ctx, id, true)
			switch {
			case err == nil:
				exec, lastErr = e, nil
			case ctx.Err() != nil:
				return exec, waitErr(what, context.Cause(ctx), lastErr)
			case IsRetryable(err):
				lastErr, roundOK = err, false
			default:
				return exec, err
			}
		}
	events:
		for {
			page, err := c.Events.List(ctx, EventListOptions{
				ExecutionIDs: []string{id},
				IncludeLogs:  true,
				Offset:       offset,
				Size:         eventBatch,
				// Waiting for create_snapshot in maintenance mode is
				// the runbook's normal case.
				BypassMaintenance: true,
			})
			switch {
			case err == nil:
			case ctx.Err() != nil:
				return exec, waitErr(what, context.Cause(ctx), lastErr)
			case IsRetryable(err):
				lastErr, roundOK = err, false
				break events
			default:
				return exec, err
			}
			for i := range page.Items {
				if page.Items[i].EndsWorkflow() {
					sawEnd = true
				}
				if onEvent != nil {
					onEvent(page.Items[i])
				}
			}
			offset += len(page.Items)
			if len(page.Items) < eventBatch {
				break
			}
		}
		if exec != nil && exec.Ended() && (sawEnd || lastRound && roundOK) {
			return exec, executionResult(exec)
		}
		if exec != nil && exec.Ended() && roundOK {
			lastRound = true
		}
		if err := sleep(ctx, interval); err != nil {
			return exec, waitErr(what, err, lastErr)
		}
	}
}

func executionResult(e *Execution) error {
	if e.Status == ExecutionTerminated {
		return nil
	}
	return &ExecutionError{ID: e.ID, WorkflowID: e.WorkflowID, Status: e.Status, Message: e.Error}
}

// WaitSnapshotRestore polls GET /snapshot-status every interval (<= 0:
// DefaultPollInterval) until it says no restore runs, and returns that
// answer. It is built for the restore's restarts: refused connections,
// timeouts and 5xx answers (502 from nginx, 503) are waited out until ctx
// ends, when the error wraps the context's and names the last of them. A 4xx answer or an
// unknown status string is returned at once.
//
// Right after Restore the workflow may still be pending and the endpoint
// then says not-running: a caller that just started a restore should use
// WaitRestore with its execution id instead.
func (c *Client) WaitSnapshotRestore(ctx context.Context, interval time.Duration) (*SnapshotStatus, error) {
	interval = pollInterval(interval)
	const what = "waiting for the snapshot restore to end"
	var lastErr error
	for {
		st, err := c.Snapshots.Status(ctx)
		switch {
		case err == nil && !st.Running:
			return st, nil
		case err == nil:
			lastErr = nil
		case ctx.Err() != nil:
			return nil, waitErr(what, context.Cause(ctx), lastErr)
		case IsRetryable(err):
			lastErr = err
		default:
			return st, err
		}
		if err := sleep(ctx, interval); err != nil {
			return nil, waitErr(what, err, lastErr)
		}
	}
}

// WaitRestore waits for the restore_snapshot execution executionID (the ID
// that Restore returned) to be over, polling every interval (<= 0:
// DefaultPollInterval). It closes the gap WaitSnapshotRestore leaves: while
// /snapshot-status says not-running and the restore was never seen running,
// it asks the execution, and keeps waiting while that is pending, queued or
// started. It returns once
//   - /snapshot-status said running and then not-running: the restore is
//     over; the execution is then read once more, best effort (the restored
//     database may not know it, or the credentials), and a failed or
//     cancelled status is returned as an *ExecutionError;
//   - or the execution ended without the restore being seen running: an
//     *ExecutionError unless it terminated;
//   - or, never seen running, the execution is no longer found or the
//     credentials no longer work (401/404): the restore replaced the
//     database between two polls.
//
// The execution is read with X-BYPASS-MAINTENANCE, as the restore usually
// runs in maintenance mode (see WaitExecution).
//
// Outages (refused connections, 5xx) are waited out until ctx ends; any
// other error of /snapshot-status is returned at once.
func (c *Client) WaitRestore(ctx context.Context, executionID string, interval time.Duration) (*SnapshotStatus, error) {
	if err := needID("execution", executionID); err != nil {
		return nil, err
	}
	interval = pollInterval(interval)
	what := "waiting for restore execution " + executionID
	var (
		lastErr     error
		seenRunning bool
	)
	for {
		st, err := c.Snapshots.Status(ctx)
		switch {
		case err == nil && st.Running:
			seenRunning, lastErr = true, nil
		case err == nil && seenRunning:
			return st, c.restoreOutcome(ctx, executionID)
		case err == nil:
			lastErr = nil
			// Not running, never seen running: has it started at all?
			e, err := c.Executions.get(ctx, executionID, true)
			switch {
			case err == nil && e.Ended():
				return st, executionResult(e)
			case err == nil:
			case IsNotFound(err) || IsUnauthorized(err):
				return st, nil
			case ctx.Err() != nil:
				return nil, waitErr(what, context.Cause(ctx), lastErr)
			case IsRetryable(err):
				lastErr = err
			default:
				return st, err
			}
		case ctx.Err() != nil:
			return nil, waitErr(what, context.Cause(ctx), lastErr)
		case IsRetryable(err):
			lastErr = err
		default:
			return st, err
		}
		if err := sleep(ctx, interval); err != nil {
			return nil, waitErr(what, err, lastErr)
		}
	}
}

// restoreOutcome reads the restore execution once the restore is over. The
// restored manager may not answer for it (another database, other
// credentials): only a definite failed or cancelled status is an error.
func (c *Client) restoreOutcome(ctx context.Context, executionID string) error {
	e, err := c.Executions.get(ctx, executionID, true)
	if err != nil || !e.Ended() {
		return nil
	}
	return executionResult(e)
}

// WaitMaintenance polls GET /maintenance every interval (<= 0:
// DefaultPollInterval) until the status is want ("activated",
// "activating" or "deactivated"). Retryable errors are waited out until ctx
// ends.
func (c *Client) WaitMaintenance(ctx context.Context, want string, interval time.Duration) (*MaintenanceState, error) {
	switch want {
	case MaintenanceActivated, MaintenanceActivating, MaintenanceDeactivated:
	default:
		return nil, fmt.Errorf("manager client: unknown maintenance status %q (want activated, activating or deactivated)", want)
	}
	interval = pollInterval(interval)
	var (
		lastErr error
		last    *MaintenanceState
	)
	what := func() string {
		s := "waiting for maintenance mode " + want
		if last != nil && lastErr == nil {
			s += " (last status " + last.Status + ")"
		}
		return s
	}
	for {
		st, err := c.Maintenance.Status(ctx)
		switch {
		case err == nil && st.Status == want:
			return st, nil
		case err == nil:
			last, lastErr = st, nil
		case ctx.Err() != nil:
			return last, waitErr(what(), context.Cause(ctx), lastErr)
		case IsRetryable(err):
			lastErr = err
		default:
			return last, err
		}
		if err := sleep(ctx, interval); err != nil {
			return last, waitErr(what(), err, lastErr)
		}
	}
}

func pollInterval(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultPollInterval
	}
	return d
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

// waitErr reports a wait cut short by its context, with the last error
// seen while polling, so that "deadline exceeded" says why. Only the
// context's error is wrapped: the result is not retryable.
func waitErr(what string, ctxErr, last error) error {
	if last != nil {
		return fmt.Errorf("manager client: %s: %w (last error: %v)", what, ctxErr, last)
	}
	return fmt.Errorf("manager client: %s: %w", what, ctxErr)
}
