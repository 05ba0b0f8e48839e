package client

import "context"

// Plugins update states (manager_rest/plugins_update/constants.py).
const (
	PluginsUpdateUpdating          = "updating"
	PluginsUpdateExecutingWorkflow = "executing_workflow"
	PluginsUpdateFinalizing        = "finalizing"
	PluginsUpdateSuccessful        = "successful"
	PluginsUpdateFailed            = "failed"
	PluginsUpdateNoChangesRequired = "no_changes_required"
)

// PluginsUpdate is a plugins update record.
type PluginsUpdate struct {
	ID                   string         `json:"id"`
	State                string         `json:"state"`
	BlueprintID          string         `json:"blueprint_id"`
	TempBlueprintID      string         `json:"temp_blueprint_id"`
	ExecutionID          string         `json:"execution_id"`
	DeploymentsToUpdate  []string       `json:"deployments_to_update"`
	DeploymentsPerTenant map[string]any `json:"deployments_per_tenant"`
	Forced               bool           `json:"forced"`
	AllTenants           bool           `json:"all_tenants"`
	CreatedAt            string         `json:"created_at"`
	CreatedBy            string         `json:"created_by"`
	TenantName           string         `json:"tenant_name"`
	Visibility           string         `json:"visibility"`
}

// Ended reports whether the update is in a terminal state: successful,
// failed or no_changes_required.
func (p *PluginsUpdate) Ended() bool {
	switch p.State {
	case PluginsUpdateSuccessful, PluginsUpdateFailed, PluginsUpdateNoChangesRequired:
		return true
	}
	return false
}

// PluginsUpdateOptions is the initiate body; every field is sent only when
// set. The Python client sends only truthy fields and defaults
// all_to_latest to true: set AllToLatest to Bool(true) to ask the same.
type PluginsUpdateOptions struct {
	PluginNames              []string
	ToLatest                 []string
	AllToLatest              *bool
	ToMinor                  []string
	AllToMinor               *bool
	Mapping                  map[string]any
	Force                    *bool
	AutoCorrectTypes         *bool
	ReevaluateActiveStatuses *bool
	AllTenants               *bool
}

// PluginsUpdatesService holds the /plugins-updates endpoints.
type PluginsUpdatesService struct{ c *Client }

// Update updates the plugins of every deployment of blueprintID
// (POST /plugins-updates/{blueprint}/update/initiate). The record's
// ExecutionID is the update workflow's execution.
func (s *PluginsUpdatesService) Update(ctx context.Context, blueprintID string, opts PluginsUpdateOptions) (*PluginsUpdate, error) {
	if err := needID("blueprint", blueprintID); err != nil {
		return nil, err
	}
	body := map[string]any{}
	setList(body, "plugin_names", opts.PluginNames)
	setList(body, "to_latest", opts.ToLatest)
	setList(body, "to_minor", opts.ToMinor)
	setBool(body, "all_to_latest", opts.AllToLatest)
	setBool(body, "all_to_minor", opts.AllToMinor)
	setBool(body, "force", opts.Force)
	setBool(body, "auto_correct_types", opts.AutoCorrectTypes)
	setBool(body, "reevaluate_active_statuses", opts.ReevaluateActiveStatuses)
	setBool(body, "all_tenants", opts.AllTenants)
	if opts.Mapping != nil {
		body["mapping"] = opts.Mapping
	}
	var out PluginsUpdate
	req := &request{method: "POST", path: pathOf("plugins-updates", blueprintID, "update", "initiate"), json: body}
	if err := s.c.doJSON(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Get reads a plugins update, its status (GET /plugins-updates/{id}).
func (s *PluginsUpdatesService) Get(ctx context.Context, id string) (*PluginsUpdate, error) {
	if err := needID("plugins update", id); err != nil {
		return nil, err
	}
	var out PluginsUpdate
	if err := s.c.doJSON(ctx, &request{method: "GET", path: pathOf("plugins-updates", id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// List lists plugins updates (GET /plugins-updates).
func (s *PluginsUpdatesService) List(ctx context.Context, opts *ListOptions) (*List[PluginsUpdate], error) {
	return list[PluginsUpdate](ctx, s.c, "/plugins-updates", opts, nil, nil)
}

func setList(m map[string]any, key string, v []string) {
	if len(v) > 0 {
		m[key] = v
	}
}
