package client

import (
	"context"
	"net/url"
)

// Execution statuses (cloudify/models_states.py ExecutionState).
const (
	ExecutionTerminated      = "terminated"
	ExecutionFailed          = "failed"
	ExecutionCancelled       = "cancelled"
	ExecutionPending         = "pending"
	ExecutionStarted         = "started"
	ExecutionCancelling      = "cancelling"
	ExecutionForceCancelling = "force_cancelling"
	ExecutionKillCancelling  = "kill_cancelling"
	ExecutionQueued          = "queued"
	ExecutionScheduled       = "scheduled"
)

// ExecutionEnded reports whether status is an end state: terminated,
// failed or cancelled (ExecutionState.END_STATES).
func ExecutionEnded(status string) bool {
	switch status {
	case ExecutionTerminated, ExecutionFailed, ExecutionCancelled:
		return true
	}
	return false
}

// Execution is a workflow execution. The manager strips its token.
type Execution struct {
	ID                    string         `json:"id"`
	WorkflowID            string         `json:"workflow_id"`
	DeploymentID          string         `json:"deployment_id"`
	BlueprintID           string         `json:"blueprint_id"`
	Status                string         `json:"status"`
	StatusDisplay         string         `json:"status_display"` // "completed" for terminated
	Error                 string         `json:"error"`
	Parameters            map[string]any `json:"parameters"`
	IsSystemWorkflow      bool           `json:"is_system_workflow"`
	IsDryRun              bool           `json:"is_dry_run"`
	AllowCustomParameters bool           `json:"allow_custom_parameters"`
	CreatedAt             string         `json:"created_at"`
	StartedAt             string         `json:"started_at"`
	EndedAt               string         `json:"ended_at"`
	ScheduledFor          string         `json:"scheduled_for"`
	CreatedBy             string         `json:"created_by"`
	TenantName            string         `json:"tenant_name"`
	Visibility            string         `json:"visibility"`
	TotalOperations       int            `json:"total_operations"`
	FinishedOperations    int            `json:"finished_operations"`
	Resume                bool           `json:"resume"`
	DeploymentDisplayName string         `json:"deployment_display_name"`
}

// Ended reports whether the execution reached an end state.
func (e *Execution) Ended() bool { return ExecutionEnded(e.Status) }

// ExecutionsService holds the /executions endpoints.
type ExecutionsService struct{ c *Client }

// StartOptions are the optional fields of POST /executions.
type StartOptions struct {
	AllowCustomParameters bool
	Force                 bool
	DryRun                bool
	Queue                 bool
	// ScheduledTime schedules the execution instead of running it now
	// (the answer's status is then "scheduled").
	ScheduledTime string
	// WaitAfterFail is sent when set; the server's default is 600.
	WaitAfterFail *int
}

// Start starts workflowID on deploymentID (POST /executions). The booleans
// go as "true"/"false" strings, as the Python client sends them.
func (s *ExecutionsService) Start(ctx context.Context, deploymentID, workflowID string, parameters map[string]any, opts StartOptions) (*Execution, error) {
	if err := needID("workflow", workflowID); err != nil {
		return nil, err
	}
	body := map[string]any{
		"deployment_id":           deploymentID,
		"workflow_id":             workflowID,
		"allow_custom_parameters": boolString(opts.AllowCustomParameters),
		"force":                   boolString(opts.Force),
		"dry_run":                 boolString(opts.DryRun),
		"queue":                   boolString(opts.Queue),
	}
	if parameters != nil {
		body["parameters"] = parameters
	}
	if opts.ScheduledTime != "" {
		body["scheduled_time"] = opts.ScheduledTime
	}
	if opts.WaitAfterFail != nil {
		body["wait_after_fail"] = *opts.WaitAfterFail
	}
	var out Execution
	if err := s.c.doJSON(ctx, &request{method: "POST", path: "/executions", json: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get reads one execution (GET /executions/{id}). While maintenance mode is
// active the manager answers 503 maintenance_mode_active; the wait helpers
// poll with X-BYPASS-MAINTENANCE instead.
func (s *ExecutionsService) Get(ctx context.Context, id string) (*Execution, error) {
	return s.get(ctx, id, false)
}

func (s *ExecutionsService) get(ctx context.Context, id string, bypass bool) (*Execution, error) {
	if err := needID("execution", id); err != nil {
		return nil, err
	}
	req := &request{method: "GET", path: pathOf("executions", id)}
	if bypass {
		req.header = bypassHeader()
	}
	var out Execution
	if err := s.c.doJSON(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ExecutionListOptions filter GET /executions.
type ExecutionListOptions struct {
	DeploymentID string
	WorkflowID   string
	// Status matches any of the given statuses.
	Status []string
	// IncludeSystemWorkflows lists create_snapshot, restore_snapshot and
	// the other system workflows too (off by default on the server).
	IncludeSystemWorkflows bool
	ListOptions
}

// List lists executions (GET /executions).
func (s *ExecutionsService) List(ctx context.Context, opts ExecutionListOptions) (*List[Execution], error) {
	extra := url.Values{"_include_system_workflows": {boolString(opts.IncludeSystemWorkflows)}}
	if opts.DeploymentID != "" {
		extra.Set("deployment_id", opts.DeploymentID)
	}
	if opts.WorkflowID != "" {
		extra.Set("workflow_id", opts.WorkflowID)
	}
	if len(opts.Status) > 0 {
		extra["status"] = append([]string(nil), opts.Status...)
	}
	return list[Execution](ctx, s.c, "/executions", &opts.ListOptions, extra, nil)
}

// Cancel cancels an execution (POST /executions/{id}): action "cancel",
// "force-cancel" with force, "kill" with kill (kill wins), as the Python
// client chooses.
func (s *ExecutionsService) Cancel(ctx context.Context, id string, force, kill bool) (*Execution, error) {
	action := "cancel"
	switch {
	case kill:
		action = "kill"
	case force:
		action = "force-cancel"
	}
	return s.action(ctx, id, action)
}

// Resume resumes a failed or cancelled execution: "resume", or
// "force-resume" to retry its failed tasks.
func (s *ExecutionsService) Resume(ctx context.Context, id string, force bool) (*Execution, error) {
	action := "resume"
	if force {
		action = "force-resume"
	}
	return s.action(ctx, id, action)
}

func (s *ExecutionsService) action(ctx context.Context, id, action string) (*Execution, error) {
	if err := needID("execution", id); err != nil {
		return nil, err
	}
	var out Execution
	req := &request{method: "POST", path: pathOf("executions", id), json: map[string]any{"action": action}}
	if err := s.c.doJSON(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
