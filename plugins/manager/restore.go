package manager

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"time"

	"github.com/runbook-dev/runbook/plugins/manager/client"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

// SnapshotRestoreIn are snapshot_restore's inputs: the restore body of the
// real API (force, restore_certificates, no_reboot, timeout, and for older
// managers tenant_name, recreate_deployments_envs, ignore_plugin_failure)
// plus how to wait.
type SnapshotRestoreIn struct {
	SnapshotID              string `cty:"snapshot_id" runbook:"required" help:"The snapshot to restore (uploaded or created on this manager)."`
	Force                   bool   `cty:"force" help:"Restore over a manager that already has blueprints, deleting its data."`
	RestoreCertificates     bool   `cty:"restore_certificates" help:"Restore the snapshot's certificates too."`
	NoReboot                bool   `cty:"no_reboot" help:"Do not reboot after restoring certificates (needs restore_certificates)."`
	Timeout                 string `cty:"timeout" help:"The step's timeout (a duration), also sent as the restore workflow's timeout in seconds; the manager's default (300) when unset."`
	TenantName              string `cty:"tenant_name" help:"Sent only when set, for managers older than 4.2 that read it."`
	RecreateDeploymentsEnvs *bool  `cty:"recreate_deployments_envs" help:"Sent only when set: required by managers 4.x to 5.1, removed in 5.2."`
	IgnorePluginFailure     *bool  `cty:"ignore_plugin_failure" help:"Sent only when set (older managers)."`
	BypassMaintenance       bool   `cty:"bypass_maintenance" help:"Send X-BYPASS-MAINTENANCE (not needed: snapshot endpoints stay open in maintenance mode)."`
	Wait                    *bool  `cty:"wait" help:"Wait until the restore is over, through the manager's restart (default true); the overdue executions are known only then."`
}

// OverdueExecution is a scheduled execution that was due before the restore
// ended: the restore marked it failed instead of running it (seed 002,
// "restoring scheduled executions").
type OverdueExecution struct {
	ID           string `cty:"id"`
	ScheduledFor string `cty:"scheduled_for"`
	WorkflowID   string `cty:"workflow_id"`
	DeploymentID string `cty:"deployment_id"`
	Status       string `cty:"status"`
	Message      string `cty:"message"`
}

// SnapshotRestoreOut are snapshot_restore's outputs.
type SnapshotRestoreOut struct {
	ExecutionID string `cty:"execution_id"`
	Status      string `cty:"status"`
	SnapshotID  string `cty:"snapshot_id"`
	// OverdueExecutions is null when the action did not wait.
	OverdueExecutions []OverdueExecution `cty:"overdue_executions"`
	OverdueCount      *int               `cty:"overdue_count"`
}

// SnapshotStatusWaitIn are snapshot_status_wait's inputs.
type SnapshotStatusWaitIn struct {
	ExecutionID string `cty:"execution_id" help:"The restore_snapshot execution (snapshot_restore's execution_id): wait for it specifically, even before /snapshot-status says it runs."`
}

// SnapshotStatusWaitOut are snapshot_status_wait's outputs.
type SnapshotStatusWaitOut struct {
	Status  string `cty:"status"`
	Running bool   `cty:"running"`
}

func (m *mgr) registerRestore(p *sdk.Provider) {
	p.Action("snapshot_restore", sdk.Action[SnapshotRestoreIn, SnapshotRestoreOut]{
		Description: "Restore a snapshot (POST /snapshots/{id}/restore), wait until the restore is over (through the manager's restart) and report the scheduled executions it found overdue.",
		Mutating:    true,
		Apply:       m.snapshotRestore,
		Plan: func(_ context.Context, in SnapshotRestoreIn) (SnapshotRestoreOut, []string, error) {
			if _, err := parseDuration("timeout", in.Timeout); err != nil {
				return SnapshotRestoreOut{}, nil, err
			}
			return SnapshotRestoreOut{SnapshotID: in.SnapshotID}, []string{"snapshot_id"}, nil
		},
		Check: m.snapshotRestoreCheck,
	})
	p.Action("snapshot_status_wait", sdk.Action[SnapshotStatusWaitIn, SnapshotStatusWaitOut]{
		Description: "Wait until no snapshot restore runs (GET /snapshot-status), riding out the manager's restart; bound it with the step's timeout.",
		Idempotent:  true,
		Apply: func(ctx context.Context, in SnapshotStatusWaitIn, r sdk.Reporter) (SnapshotStatusWaitOut, error) {
			c, poll, err := m.client()
			if err != nil {
				return SnapshotStatusWaitOut{}, err
			}
			var st *client.SnapshotStatus
			if in.ExecutionID != "" {
				st, err = c.WaitRestore(ctx, in.ExecutionID, poll)
			} else {
				st, err = c.WaitSnapshotRestore(ctx, poll)
			}
			if err != nil {
				return SnapshotStatusWaitOut{}, apiErr(err)
			}
			r.Log(sdk.LevelInfo, "no snapshot restore is running ("+st.Status+")")
			return SnapshotStatusWaitOut{Status: st.Status, Running: st.Running}, nil
		},
	})
}

func (m *mgr) snapshotRestore(ctx context.Context, in SnapshotRestoreIn, r sdk.Reporter) (SnapshotRestoreOut, error) {
	c, poll, err := m.client()
	if err != nil {
		return SnapshotRestoreOut{}, err
	}
	timeout, err := parseDuration("timeout", in.Timeout)
	if err != nil {
		return SnapshotRestoreOut{}, err
	}
	wait := boolOr(in.Wait, true)
	out := SnapshotRestoreOut{SnapshotID: in.SnapshotID}

	// A restore already running is most likely this step's own, started by
	// an attempt that timed out or lost its answer: wait for it rather
	// than start a second one (the manager would refuse it anyway).
	st, err := c.Snapshots.Status(ctx)
	if err != nil {
		return SnapshotRestoreOut{}, apiErr(err)
	}
	if st.Running {
		r.Log(sdk.LevelWarn, "a snapshot restore is already running on the manager (an earlier attempt of this step?): waiting for it instead of starting another")
		if _, err := c.WaitSnapshotRestore(ctx, poll); err != nil {
			return SnapshotRestoreOut{}, err
		}
		var id string
		err := persist(ctx, poll, func() (err error) { id, err = latestRestore(ctx, c); return err })
		if err != nil {
			return SnapshotRestoreOut{}, err
		}
		if id == "" {
			return SnapshotRestoreOut{}, errors.New("the restore that was running is over, but its execution cannot be found in the manager's events")
		}
		// It is over: this reads how it ended.
		if _, err := c.WaitRestore(ctx, id, poll); err != nil {
			return SnapshotRestoreOut{}, restoreFailed(in.SnapshotID, err)
		}
		out.ExecutionID, out.Status = id, client.ExecutionTerminated
		return m.afterRestore(ctx, c, poll, out, r)
	}

	opts := client.RestoreOptions{
		Force: in.Force, RestoreCertificates: in.RestoreCertificates, NoReboot: in.NoReboot,
		TenantName: in.TenantName, RecreateDeploymentsEnvs: in.RecreateDeploymentsEnvs,
		IgnorePluginFailure: in.IgnorePluginFailure, BypassMaintenance: in.BypassMaintenance,
	}
	if timeout > 0 {
		opts.Timeout = client.Int(int(math.Ceil(timeout.Seconds())))
	}
	x, err := c.Snapshots.Restore(ctx, in.SnapshotID, opts)
	if err != nil {
		return SnapshotRestoreOut{}, apiErr(err)
	}
	out.ExecutionID, out.Status = x.ID, x.Status
	r.Log(sdk.LevelInfo, fmt.Sprintf("restoring snapshot %s: restore_snapshot execution %s is %s", in.SnapshotID, x.ID, x.Status))
	if !wait {
		return out, nil
	}
	if _, err := c.WaitRestore(ctx, x.ID, poll); err != nil {
		return SnapshotRestoreOut{}, restoreFailed(in.SnapshotID, err)
	}
	out.Status = client.ExecutionTerminated
	return m.afterRestore(ctx, c, poll, out, r)
}

func restoreFailed(snapshotID string, err error) error {
	var xe *client.ExecutionError
	if errors.As(err, &xe) {
		return fmt.Errorf("snapshot %s was not restored: %w", snapshotID, err)
	}
	return err
}

// afterRestore reports the scheduled executions the restore found overdue.
func (m *mgr) afterRestore(ctx context.Context, c *client.Client, poll time.Duration, out SnapshotRestoreOut, r sdk.Reporter) (SnapshotRestoreOut, error) {
	var overdue []OverdueExecution
	err := persist(ctx, poll, func() (err error) { overdue, err = overdueExecutions(ctx, c, out.ExecutionID); return err })
	if err != nil {
		return SnapshotRestoreOut{}, fmt.Errorf("the restore is over, but reading its log for overdue scheduled executions failed: %w", err)
	}
	n := len(overdue)
	out.OverdueExecutions, out.OverdueCount = overdue, &n
	r.Log(sdk.LevelInfo, "snapshot "+out.SnapshotID+" restored")
	for _, o := range overdue {
		what := o.ID
		if o.WorkflowID != "" {
			what += " (" + o.WorkflowID
			if o.DeploymentID != "" {
				what += " on " + o.DeploymentID
			}
			what += ")"
		}
		r.Log(sdk.LevelWarn, fmt.Sprintf("scheduled execution %s was due at %s, before the restore ended: the manager marked it failed instead of running it; start it again if it is still needed", what, o.ScheduledFor))
	}
	return out, nil
}

// overdueLine is the restore's INFO log line for an overdue scheduled
// execution (seed 002): "Execution 7dbc1ae2-... scheduled for
// 2020-03-13T04:00:00.000Z is overdue. Marking as FAILED."
var overdueLine = regexp.MustCompile(`Execution (\S+) scheduled for (\S+) is overdue`)

// overdueExecutions reads the restore execution's log for overdue scheduled
// executions, then, best effort, each one's record (maintenance mode hides
// executions from callers without the bypass).
func overdueExecutions(ctx context.Context, c *client.Client, restoreID string) ([]OverdueExecution, error) {
	out := []OverdueExecution{}
	seen := map[string]bool{}
	const size = 500
	for offset := 0; ; offset += size {
		page, err := c.Events.List(ctx, client.EventListOptions{
			ExecutionIDs: []string{restoreID}, IncludeLogs: true, Offset: offset, Size: size, BypassMaintenance: true,
		})
		if err != nil {
			return nil, err
		}
		for _, ev := range page.Items {
			mm := overdueLine.FindStringSubmatch(ev.Message)
			if mm == nil || seen[mm[1]] {
				continue
			}
			seen[mm[1]] = true
			out = append(out, OverdueExecution{ID: mm[1], ScheduledFor: mm[2], Status: client.ExecutionFailed, Message: ev.Message})
		}
		if len(page.Items) < size {
			break
		}
	}
	for i := range out {
		if x, err := c.Executions.Get(ctx, out[i].ID); err == nil {
			out[i].WorkflowID, out[i].DeploymentID, out[i].Status = x.WorkflowID, x.DeploymentID, x.Status
			if x.ScheduledFor != "" {
				out[i].ScheduledFor = x.ScheduledFor
			}
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].ScheduledFor < out[j].ScheduledFor })
	return out, nil
}

// restoresSince lists the restore_snapshot executions that started at or
// after since, oldest first, from their
// workflow_started events: events stay readable in maintenance mode with
// X-BYPASS-MAINTENANCE, while GET /executions does not.
func restoresSince(ctx context.Context, c *client.Client, since time.Time) ([]string, error) {
	opts := client.EventListOptions{
		Filters:           map[string][]string{"event_type": {"workflow_started"}},
		BypassMaintenance: true,
		Size:              500,
	}
	opts.From = since.UTC().Format(time.RFC3339Nano)
	var ids []string
	for {
		page, err := c.Events.List(ctx, opts)
		if err != nil {
			return nil, err
		}
		for _, ev := range page.Items {
			if ev.WorkflowID == "restore_snapshot" && ev.ExecutionID != "" {
				ids = append(ids, ev.ExecutionID)
			}
		}
		if len(page.Items) < opts.Size {
			return ids, nil
		}
		opts.Offset += len(page.Items)
	}
}

// latestRestore is the newest restore_snapshot execution that started, from
// the newest workflow_started events; "" when none is among the last
// thousand.
func latestRestore(ctx context.Context, c *client.Client) (string, error) {
	opts := client.EventListOptions{
		Filters:           map[string][]string{"event_type": {"workflow_started"}},
		BypassMaintenance: true,
		Sort:              "-@timestamp",
		Size:              100,
	}
	for range 10 {
		page, err := c.Events.List(ctx, opts)
		if err != nil {
			return "", err
		}
		for _, ev := range page.Items {
			if ev.WorkflowID == "restore_snapshot" && ev.ExecutionID != "" {
				return ev.ExecutionID, nil
			}
		}
		if len(page.Items) < opts.Size {
			break
		}
		opts.Offset += len(page.Items)
	}
	return "", nil
}

// snapshotRestoreCheck looks for a restore_snapshot execution that started
// after the interrupted attempt: none (and none running) is NotApplied;
// one that ended well is Applied, with the overdue executions; a running
// one is waited for (reading only); anything else is for the operator.
func (m *mgr) snapshotRestoreCheck(ctx context.Context, in SnapshotRestoreIn, started time.Time) (sdk.CheckResult, SnapshotRestoreOut, error) {
	c, poll, err := m.client()
	if err != nil {
		return sdk.Unknown, SnapshotRestoreOut{}, err
	}
	if started.IsZero() {
		// Without the attempt's start, a restore found cannot be told
		// from an older one.
		return sdk.Unknown, SnapshotRestoreOut{}, nil
	}
	st, err := c.Snapshots.Status(ctx)
	if err != nil {
		return sdk.Unknown, SnapshotRestoreOut{}, err
	}
	if st.Running {
		if _, err := c.WaitSnapshotRestore(ctx, poll); err != nil {
			return sdk.Unknown, SnapshotRestoreOut{}, err
		}
	}
	ids, err := restoresSince(ctx, c, started)
	if err != nil {
		return sdk.Unknown, SnapshotRestoreOut{}, err
	}
	if len(ids) == 0 {
		if st.Running {
			return sdk.Unknown, SnapshotRestoreOut{}, nil
		}
		return sdk.NotApplied, SnapshotRestoreOut{}, nil
	}
	id := ids[len(ids)-1]
	if _, err := c.WaitRestore(ctx, id, poll); err != nil {
		// It ran and failed, or cannot be followed: the operator decides.
		return sdk.Unknown, SnapshotRestoreOut{}, err
	}
	overdue, err := overdueExecutions(ctx, c, id)
	if err != nil {
		return sdk.Unknown, SnapshotRestoreOut{}, err
	}
	n := len(overdue)
	return sdk.Applied, SnapshotRestoreOut{
		ExecutionID: id, Status: client.ExecutionTerminated, SnapshotID: in.SnapshotID,
		OverdueExecutions: overdue, OverdueCount: &n,
	}, nil
}
