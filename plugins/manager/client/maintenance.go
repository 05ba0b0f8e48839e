package client

import (
	"bytes"
	"context"
	"encoding/json"
)

// Maintenance mode statuses.
const (
	MaintenanceActivated   = "activated"
	MaintenanceActivating  = "activating"
	MaintenanceDeactivated = "deactivated"
)

// MaintenanceState is the maintenance mode state.
type MaintenanceState struct {
	Status                string `json:"status"`
	ActivatedAt           string `json:"activated_at"`
	ActivationRequestedAt string `json:"activation_requested_at"`
	RequestedBy           string `json:"requested_by"`
	// RemainingExecutions are the executions not yet ended that keep the
	// mode "activating". Null (deactivated) reads as empty, and the list
	// wrapped in a list that POST /maintenance/activate sends (a trailing
	// comma in maintenance_mode.py) is unwrapped.
	RemainingExecutions RemainingExecutions `json:"remaining_executions"`
}

// RemainingExecution is a running execution listed by the maintenance state.
type RemainingExecution struct {
	ID           string `json:"id"`
	Status       string `json:"status"`
	DeploymentID string `json:"deployment_id"`
	WorkflowID   string `json:"workflow_id"`
}

// RemainingExecutions reads both [{...}] and [[{...}]].
type RemainingExecutions []RemainingExecution

// UnmarshalJSON implements json.Unmarshaler.
func (r *RemainingExecutions) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*r = nil
		return nil
	}
	var items []json.RawMessage
	if err := json.Unmarshal(b, &items); err != nil {
		return err
	}
	out := RemainingExecutions{}
	for _, it := range items {
		it = bytes.TrimSpace(it)
		if len(it) > 0 && it[0] == '[' {
			var inner []RemainingExecution
			if err := json.Unmarshal(it, &inner); err != nil {
				return err
			}
			out = append(out, inner...)
			continue
		}
		var one RemainingExecution
		if err := json.Unmarshal(it, &one); err != nil {
			return err
		}
		out = append(out, one)
	}
	*r = out
	return nil
}

// MaintenanceService holds the /maintenance endpoints. They stay allowed
// while the mode is active.
type MaintenanceService struct{ c *Client }

// Status reads the state (GET /maintenance).
func (s *MaintenanceService) Status(ctx context.Context) (*MaintenanceState, error) {
	var out MaintenanceState
	if err := s.c.doJSON(ctx, &request{method: "GET", path: "/maintenance"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Activate asks for maintenance mode (POST /maintenance/activate). The state
// is "activated" at once when no execution runs, "activating" otherwise.
// When the mode is already on (activating or activated) the manager answers
// 304: the error satisfies IsNotModified.
func (s *MaintenanceService) Activate(ctx context.Context) (*MaintenanceState, error) {
	return s.post(ctx, "/maintenance/activate")
}

// Deactivate leaves maintenance mode (POST /maintenance/deactivate), which
// also starts queued executions. When it is already off the error
// satisfies IsNotModified.
func (s *MaintenanceService) Deactivate(ctx context.Context) (*MaintenanceState, error) {
	return s.post(ctx, "/maintenance/deactivate")
}

func (s *MaintenanceService) post(ctx context.Context, path string) (*MaintenanceState, error) {
	var out MaintenanceState
	if err := s.c.doJSON(ctx, &request{method: "POST", path: path}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
