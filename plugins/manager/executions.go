package manager

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/runbook-dev/runbook/plugins/manager/client"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

// ExecutionStartIn are execution_start's inputs.
type ExecutionStartIn struct {
	WorkflowID            string    `cty:"workflow_id" runbook:"required" help:"The workflow: install_new_agents, heal, install, ..."`
	DeploymentID          string    `cty:"deployment_id" runbook:"required" help:"The deployment to run it on."`
	Parameters            cty.Value `cty:"parameters" help:"The workflow's parameters, an object of any values: { install_agent_timeout = 300 }."`
	AllowCustomParameters bool      `cty:"allow_custom_parameters" help:"Allow parameters the workflow does not declare."`
	Force                 bool      `cty:"force" help:"Run even if another execution runs on the deployment."`
	DryRun                bool      `cty:"dry_run" help:"Ask the manager for a dry run of the workflow (its operations are not executed)."`
	Queue                 bool      `cty:"queue" help:"Queue behind running executions instead of failing."`
	ScheduledTime         string    `cty:"scheduled_time" help:"Schedule instead of running now: RFC 3339 or YYYYMMDDHHMM+HHMM."`
	Wait                  bool      `cty:"wait" help:"Also wait for the execution to end, streaming its events and logs, and fail unless it terminated."`
}

// ExecutionOut are the outputs of the execution actions.
type ExecutionOut struct {
	ExecutionID  string `cty:"execution_id"`
	Status       string `cty:"status"`
	WorkflowID   string `cty:"workflow_id"`
	DeploymentID string `cty:"deployment_id"`
	Error        string `cty:"error"`
	CreatedAt    string `cty:"created_at"`
	EndedAt      string `cty:"ended_at"`
}

func executionOut(x *client.Execution) ExecutionOut {
	return ExecutionOut{ExecutionID: x.ID, Status: x.Status, WorkflowID: x.WorkflowID, DeploymentID: x.DeploymentID,
		Error: x.Error, CreatedAt: x.CreatedAt, EndedAt: x.EndedAt}
}

// ExecutionWaitIn are execution_wait's inputs.
type ExecutionWaitIn struct {
	ExecutionID string `cty:"execution_id" runbook:"required" help:"The execution to follow."`
	Logs        *bool  `cty:"logs" help:"Stream log lines as well as events (default true)."`
	FailOnError *bool  `cty:"fail_on_error" help:"Fail the step when the execution ends failed or cancelled (default true)."`
}

// ExecutionCancelIn are execution_cancel's inputs.
type ExecutionCancelIn struct {
	ExecutionID string `cty:"execution_id" runbook:"required" help:"The execution to cancel."`
	Force       bool   `cty:"force" help:"force-cancel: stop without waiting for running operations."`
	Kill        bool   `cty:"kill" help:"kill: also kill the workflow's processes."`
	Wait        *bool  `cty:"wait" help:"Wait until the execution has ended (default true)."`
}

func (m *mgr) registerExecutions(p *sdk.Provider) {
	p.Action("execution_start", sdk.Action[ExecutionStartIn, ExecutionOut]{
		Description: "Start a workflow on a deployment (POST /executions), optionally waiting for it with its events and logs in the step's log; with wait, an active execution of the same workflow on the deployment (an earlier attempt's) is waited for instead of started twice.",
		Mutating:    true,
		Apply:       m.executionStart,
		Plan: func(_ context.Context, in ExecutionStartIn) (ExecutionOut, []string, error) {
			if _, err := parameters(in.Parameters); err != nil {
				return ExecutionOut{}, nil, err
			}
			return ExecutionOut{WorkflowID: in.WorkflowID, DeploymentID: in.DeploymentID}, []string{"workflow_id", "deployment_id"}, nil
		},
		Check: m.executionStartCheck,
	})
	p.Action("execution_wait", sdk.Action[ExecutionWaitIn, ExecutionOut]{
		Description: "Wait for an execution to end, streaming its events and logs into the step's log as they arrive; bound it with the step's timeout.",
		Idempotent:  true,
		Apply: func(ctx context.Context, in ExecutionWaitIn, r sdk.Reporter) (ExecutionOut, error) {
			c, poll, err := m.client()
			if err != nil {
				return ExecutionOut{}, err
			}
			return waitExecution(ctx, c, poll, in.ExecutionID, boolOr(in.Logs, true), boolOr(in.FailOnError, true), r)
		},
	})
	p.Action("execution_cancel", sdk.Action[ExecutionCancelIn, ExecutionOut]{
		Description: "Cancel an execution (POST /executions/{id}: cancel, force-cancel or kill) and wait until it has ended; one that already ended is left as is.",
		Mutating:    true, Idempotent: true,
		Apply: m.executionCancel,
		Plan: func(_ context.Context, in ExecutionCancelIn) (ExecutionOut, []string, error) {
			return ExecutionOut{ExecutionID: in.ExecutionID}, []string{"execution_id"}, nil
		},
		Check: func(ctx context.Context, in ExecutionCancelIn, _ time.Time) (sdk.CheckResult, ExecutionOut, error) {
			c, _, err := m.client()
			if err != nil {
				return sdk.Unknown, ExecutionOut{}, err
			}
			x, err := c.Executions.Get(ctx, in.ExecutionID)
			switch {
			case err != nil:
				return sdk.Unknown, ExecutionOut{}, err
			case x.Ended():
				return sdk.Applied, executionOut(x), nil
			}
			return sdk.NotApplied, ExecutionOut{}, nil
		},
	})
}

// parameters turns the parameters input (any object or map) into the JSON
// object the API wants.
func parameters(v cty.Value) (map[string]any, error) {
	if v == cty.NilVal || v.IsNull() {
		return nil, nil
	}
	v, _ = v.UnmarkDeep()
	if !v.IsWhollyKnown() {
		return nil, sdk.AttributeError("parameters", errors.New("parameters are not known yet"))
	}
	if t := v.Type(); !t.IsObjectType() && !t.IsMapType() {
		return nil, sdk.AttributeError("parameters", fmt.Errorf("parameters must be an object such as { install_agent_timeout = 300 }, not %s", t.FriendlyName()))
	}
	b, err := ctyjson.Marshal(v, v.Type())
	if err != nil {
		return nil, sdk.AttributeError("parameters", err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, sdk.AttributeError("parameters", err)
	}
	return out, nil
}

func (m *mgr) executionStart(ctx context.Context, in ExecutionStartIn, r sdk.Reporter) (ExecutionOut, error) {
	c, poll, err := m.client()
	if err != nil {
		return ExecutionOut{}, err
	}
	params, err := parameters(in.Parameters)
	if err != nil {
		return ExecutionOut{}, err
	}
	if in.Wait && !in.Queue && !in.Force && in.ScheduledTime == "" {
		// The manager runs one execution per deployment at a time: one of
		// this workflow still active is most likely this step's own, from
		// an attempt that timed out. Wait for it rather than fail.
		l, err := c.Executions.List(ctx, client.ExecutionListOptions{
			DeploymentID: in.DeploymentID, WorkflowID: in.WorkflowID,
			Status:      []string{client.ExecutionPending, client.ExecutionStarted, client.ExecutionQueued},
			ListOptions: client.ListOptions{Sort: "-created_at", Size: 1},
		})
		if err != nil {
			return ExecutionOut{}, apiErr(err)
		}
		if len(l.Items) > 0 {
			x := l.Items[0]
			r.Log(sdk.LevelWarn, fmt.Sprintf("%s is already running on %s (execution %s, %s): waiting for it instead of starting another", in.WorkflowID, in.DeploymentID, x.ID, x.Status))
			return waitExecution(ctx, c, poll, x.ID, true, true, r)
		}
	}
	x, err := c.Executions.Start(ctx, in.DeploymentID, in.WorkflowID, params, client.StartOptions{
		AllowCustomParameters: in.AllowCustomParameters, Force: in.Force, DryRun: in.DryRun, Queue: in.Queue,
		ScheduledTime: in.ScheduledTime,
	})
	if err != nil {
		return ExecutionOut{}, apiErr(err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("started %s on %s: execution %s is %s", in.WorkflowID, in.DeploymentID, x.ID, x.Status))
	if !in.Wait || x.Status == client.ExecutionScheduled {
		out := executionOut(x)
		if out.WorkflowID == "" {
			out.WorkflowID, out.DeploymentID = in.WorkflowID, in.DeploymentID
		}
		return out, nil
	}
	return waitExecution(ctx, c, poll, x.ID, true, true, r)
}

// waitExecution follows an execution to its end with its events in the
// step's log. The wait rides out outages; once the execution has started,
// nothing it returns is retryable.
func waitExecution(ctx context.Context, c *client.Client, poll time.Duration, id string, logs, failOnError bool, r sdk.Reporter) (ExecutionOut, error) {
	x, err := c.WaitExecution(ctx, id, poll, func(ev client.Event) {
		if logs || !ev.IsLog() {
			logEvent(r, ev)
		}
	})
	var xe *client.ExecutionError
	switch {
	case errors.As(err, &xe) && x != nil && !failOnError:
		r.Log(sdk.LevelWarn, err.Error())
		return executionOut(x), nil
	case err != nil:
		return ExecutionOut{}, err
	}
	return executionOut(x), nil
}

// executionStartCheck: Applied when an execution of the same workflow on
// the same deployment was created after the interrupted attempt started;
// otherwise the operator decides (another client may have started it, or
// the request may still be on its way).
func (m *mgr) executionStartCheck(ctx context.Context, in ExecutionStartIn, started time.Time) (sdk.CheckResult, ExecutionOut, error) {
	c, poll, err := m.client()
	if err != nil {
		return sdk.Unknown, ExecutionOut{}, err
	}
	if started.IsZero() {
		return sdk.Unknown, ExecutionOut{}, nil
	}
	l, err := c.Executions.List(ctx, client.ExecutionListOptions{
		DeploymentID: in.DeploymentID, WorkflowID: in.WorkflowID,
		ListOptions: client.ListOptions{Sort: "-created_at", Size: 50},
	})
	if err != nil {
		return sdk.Unknown, ExecutionOut{}, err
	}
	for i := range l.Items {
		x := &l.Items[i]
		t, ok := parseTime(x.CreatedAt)
		if !ok || t.Before(started.Add(-time.Second)) {
			continue
		}
		if !in.Wait || x.Ended() {
			if in.Wait && x.Status != client.ExecutionTerminated {
				return sdk.Unknown, ExecutionOut{}, nil
			}
			return sdk.Applied, executionOut(x), nil
		}
		// Apply would have waited: so does Check, reading only.
		out, err := waitExecution(ctx, c, poll, x.ID, false, true, nopReporter{})
		if err != nil {
			return sdk.Unknown, ExecutionOut{}, err
		}
		return sdk.Applied, out, nil
	}
	return sdk.Unknown, ExecutionOut{}, nil
}

func (m *mgr) executionCancel(ctx context.Context, in ExecutionCancelIn, r sdk.Reporter) (ExecutionOut, error) {
	c, poll, err := m.client()
	if err != nil {
		return ExecutionOut{}, err
	}
	x, err := c.Executions.Get(ctx, in.ExecutionID)
	if err != nil {
		return ExecutionOut{}, apiErr(err)
	}
	if x.Ended() {
		r.Log(sdk.LevelInfo, fmt.Sprintf("execution %s already ended: %s", x.ID, x.Status))
		return executionOut(x), nil
	}
	if x.Status != client.ExecutionCancelling || in.Force || in.Kill {
		x, err = c.Executions.Cancel(ctx, in.ExecutionID, in.Force, in.Kill)
		if err != nil {
			return ExecutionOut{}, apiErr(err)
		}
		r.Log(sdk.LevelInfo, fmt.Sprintf("execution %s is %s", x.ID, x.Status))
	}
	if !boolOr(in.Wait, true) {
		return executionOut(x), nil
	}
	return waitExecution(ctx, c, poll, in.ExecutionID, true, false, r)
}

// nopReporter drops reports (Check has no Reporter).
type nopReporter struct{}

func (nopReporter) Log(sdk.Level, string)         {}
func (nopReporter) Progress(int64, int64, string) {}
