package manager

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/plugins/manager/client"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

// RemainingExecution is an execution that keeps maintenance mode
// "activating" until it ends.
type RemainingExecution struct {
	ID           string `cty:"id"`
	Status       string `cty:"status"`
	DeploymentID string `cty:"deployment_id"`
	WorkflowID   string `cty:"workflow_id"`
}

// MaintenanceIn are maintenance_activate's inputs.
type MaintenanceIn struct {
	Wait *bool `cty:"wait" help:"Wait until the mode is activated, i.e. the running executions have drained (default true); bound it with the step's timeout."`
}

// MaintenanceOut are the outputs of the maintenance actions: the state.
type MaintenanceOut struct {
	Status                string               `cty:"status"`
	ActivatedAt           string               `cty:"activated_at"`
	ActivationRequestedAt string               `cty:"activation_requested_at"`
	RequestedBy           string               `cty:"requested_by"`
	RemainingExecutions   []RemainingExecution `cty:"remaining_executions"`
}

func maintenanceOut(st *client.MaintenanceState) MaintenanceOut {
	out := MaintenanceOut{
		Status: st.Status, ActivatedAt: st.ActivatedAt, ActivationRequestedAt: st.ActivationRequestedAt,
		RequestedBy: st.RequestedBy, RemainingExecutions: []RemainingExecution{},
	}
	for _, x := range st.RemainingExecutions {
		out.RemainingExecutions = append(out.RemainingExecutions, RemainingExecution(x))
	}
	return out
}

// None is the input or output of an action that has none.
type None struct{}

func (m *mgr) registerMaintenance(p *sdk.Provider) {
	p.Action("maintenance_activate", sdk.Action[MaintenanceIn, MaintenanceOut]{
		Description: "Enter maintenance mode (POST /maintenance/activate) and wait until it is activated: the running executions have drained.",
		Mutating:    true, Idempotent: true,
		Apply: m.maintenanceActivate,
		Plan: func(_ context.Context, in MaintenanceIn) (MaintenanceOut, []string, error) {
			if boolOr(in.Wait, true) {
				return MaintenanceOut{Status: client.MaintenanceActivated}, []string{"status"}, nil
			}
			return MaintenanceOut{}, nil, nil
		},
		Check: func(ctx context.Context, in MaintenanceIn, _ time.Time) (sdk.CheckResult, MaintenanceOut, error) {
			st, err := m.maintenanceState(ctx)
			switch {
			case err != nil:
				return sdk.Unknown, MaintenanceOut{}, err
			case st.Status == client.MaintenanceDeactivated:
				return sdk.NotApplied, MaintenanceOut{}, nil
			case st.Status == client.MaintenanceActivating && boolOr(in.Wait, true):
				// Applied, but not yet what Apply waits for: run it again,
				// which waits (activating twice answers 304).
				return sdk.NotApplied, MaintenanceOut{}, nil
			}
			return sdk.Applied, maintenanceOut(st), nil
		},
	})
	p.Action("maintenance_deactivate", sdk.Action[None, MaintenanceOut]{
		Description: "Leave maintenance mode (POST /maintenance/deactivate); queued executions start. Already deactivated is success.",
		Mutating:    true, Idempotent: true,
		Apply: m.maintenanceDeactivate,
		Plan: func(context.Context, None) (MaintenanceOut, []string, error) {
			return MaintenanceOut{Status: client.MaintenanceDeactivated}, []string{"status"}, nil
		},
		Check: func(ctx context.Context, _ None, _ time.Time) (sdk.CheckResult, MaintenanceOut, error) {
			st, err := m.maintenanceState(ctx)
			switch {
			case err != nil:
				return sdk.Unknown, MaintenanceOut{}, err
			case st.Status == client.MaintenanceDeactivated:
				return sdk.Applied, maintenanceOut(st), nil
			}
			return sdk.NotApplied, MaintenanceOut{}, nil
		},
	})
	p.Action("maintenance_status", sdk.Action[None, MaintenanceOut]{
		Description: "Read the maintenance mode state (GET /maintenance).",
		Idempotent:  true,
		Apply: func(ctx context.Context, _ None, _ sdk.Reporter) (MaintenanceOut, error) {
			st, err := m.maintenanceState(ctx)
			if err != nil {
				return MaintenanceOut{}, apiErr(err)
			}
			return maintenanceOut(st), nil
		},
		Plan: func(ctx context.Context, _ None) (MaintenanceOut, []string, error) {
			st, err := m.maintenanceState(ctx)
			if err != nil {
				return MaintenanceOut{}, nil, apiErr(err)
			}
			return maintenanceOut(st), []string{"status", "activated_at", "activation_requested_at", "requested_by", "remaining_executions"}, nil
		},
	})
}

func (m *mgr) maintenanceState(ctx context.Context) (*client.MaintenanceState, error) {
	c, _, err := m.client()
	if err != nil {
		return nil, err
	}
	return c.Maintenance.Status(ctx)
}

func (m *mgr) maintenanceActivate(ctx context.Context, in MaintenanceIn, r sdk.Reporter) (MaintenanceOut, error) {
	c, poll, err := m.client()
	if err != nil {
		return MaintenanceOut{}, err
	}
	st, err := c.Maintenance.Activate(ctx)
	switch {
	case client.IsNotModified(err):
		r.Log(sdk.LevelInfo, "maintenance mode was already requested")
		st = nil
	case err != nil:
		return MaintenanceOut{}, apiErr(err)
	default:
		r.Log(sdk.LevelInfo, "maintenance mode "+st.Status)
	}
	if st != nil && (st.Status == client.MaintenanceActivated || !boolOr(in.Wait, true)) {
		return maintenanceOut(st), nil
	}
	if st != nil && len(st.RemainingExecutions) > 0 {
		r.Log(sdk.LevelInfo, fmt.Sprintf("waiting for %d running executions to end: %s", len(st.RemainingExecutions), remaining(st.RemainingExecutions)))
	}
	if !boolOr(in.Wait, true) {
		err := persist(ctx, poll, func() (err error) { st, err = c.Maintenance.Status(ctx); return err })
		if err != nil {
			return MaintenanceOut{}, err
		}
		return maintenanceOut(st), nil
	}
	st, err = c.WaitMaintenance(ctx, client.MaintenanceActivated, poll)
	if err != nil {
		return MaintenanceOut{}, err
	}
	r.Log(sdk.LevelInfo, "maintenance mode activated")
	return maintenanceOut(st), nil
}

func (m *mgr) maintenanceDeactivate(ctx context.Context, _ None, r sdk.Reporter) (MaintenanceOut, error) {
	c, poll, err := m.client()
	if err != nil {
		return MaintenanceOut{}, err
	}
	st, err := c.Maintenance.Deactivate(ctx)
	switch {
	case client.IsNotModified(err):
		r.Log(sdk.LevelInfo, "maintenance mode was already deactivated")
		err := persist(ctx, poll, func() (err error) { st, err = c.Maintenance.Status(ctx); return err })
		if err != nil {
			return MaintenanceOut{}, err
		}
	case err != nil:
		return MaintenanceOut{}, apiErr(err)
	default:
		r.Log(sdk.LevelInfo, "maintenance mode "+st.Status)
	}
	return maintenanceOut(st), nil
}

func remaining(l client.RemainingExecutions) string {
	var parts []string
	for _, x := range l {
		s := x.ID + " (" + x.WorkflowID
		if x.DeploymentID != "" {
			s += " on " + x.DeploymentID
		}
		parts = append(parts, s+", "+x.Status+")")
	}
	return strings.Join(parts, ", ")
}
