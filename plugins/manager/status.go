package manager

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/manager/client"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

// PluginsUpdateIn are plugins_update's inputs: the initiate body, each
// field sent only when set.
type PluginsUpdateIn struct {
	BlueprintID              string    `cty:"blueprint_id" runbook:"required" help:"The blueprint whose deployments get the new plugins."`
	PluginNames              []string  `cty:"plugin_names" help:"Update only these plugins."`
	ToLatest                 []string  `cty:"to_latest" help:"Plugins to update to their latest version."`
	AllToLatest              *bool     `cty:"all_to_latest" help:"Update every plugin to its latest version (the CLI's default)."`
	ToMinor                  []string  `cty:"to_minor" help:"Plugins to update to their latest minor version."`
	AllToMinor               *bool     `cty:"all_to_minor" help:"Update every plugin to its latest minor version."`
	Mapping                  cty.Value `cty:"mapping" help:"Explicit plugin version mapping, an object."`
	Force                    *bool     `cty:"force" help:"Update even if the deployments' blueprint changed or an update runs."`
	AutoCorrectTypes         *bool     `cty:"auto_correct_types"`
	ReevaluateActiveStatuses *bool     `cty:"reevaluate_active_statuses"`
	AllTenants               *bool     `cty:"all_tenants" help:"Update the blueprint's deployments in every tenant."`
	Wait                     *bool     `cty:"wait" help:"Wait until the update has ended (default true), streaming its workflow's events."`
}

// PluginsUpdateOut are plugins_update's outputs.
type PluginsUpdateOut struct {
	ID                  string   `cty:"id"`
	State               string   `cty:"state"`
	BlueprintID         string   `cty:"blueprint_id"`
	ExecutionID         string   `cty:"execution_id"`
	DeploymentsToUpdate []string `cty:"deployments_to_update"`
}

func pluginsUpdateOut(u *client.PluginsUpdate) PluginsUpdateOut {
	deps := u.DeploymentsToUpdate
	if deps == nil {
		deps = []string{}
	}
	return PluginsUpdateOut{ID: u.ID, State: u.State, BlueprintID: u.BlueprintID, ExecutionID: u.ExecutionID, DeploymentsToUpdate: deps}
}

// ClusterStatusIn are cluster_status's inputs.
type ClusterStatusIn struct {
	Summary bool     `cty:"summary" help:"Ask only for the overall status (?summary=true): no nodes."`
	WaitFor []string `cty:"wait_for" help:"Poll until the status is one of these (OK, Degraded, Fail), riding out outages; bound it with the step's timeout."`
}

// ClusterNode is one node of one of the cluster's services.
type ClusterNode struct {
	Service   string `cty:"service"`
	Name      string `cty:"name"`
	Status    string `cty:"status"`
	Version   string `cty:"version"`
	PublicIP  string `cty:"public_ip"`
	PrivateIP string `cty:"private_ip"`
}

// ClusterStatusOut are cluster_status's outputs.
type ClusterStatusOut struct {
	Status string `cty:"status"`
	// Services maps manager, db and broker to their status.
	Services map[string]string `cty:"services"`
	Nodes    []ClusterNode     `cty:"nodes"`
	// Managers and FailedManagers are the hostnames of the manager
	// service's nodes, all and those not OK.
	Managers       []string `cty:"managers"`
	FailedManagers []string `cty:"failed_managers"`
}

// ManagerStatusOut are manager_status's outputs.
type ManagerStatusOut struct {
	Status   string          `cty:"status"`
	Healthy  bool            `cty:"healthy"`
	Services []ServiceStatus `cty:"services"`
	Version  string          `cty:"version"`
	Edition  string          `cty:"edition"`
}

// ServiceStatus is one service of the manager.
type ServiceStatus struct {
	Name   string `cty:"name"`
	Status string `cty:"status"`
}

func (m *mgr) registerStatus(p *sdk.Provider) {
	p.Action("plugins_update", sdk.Action[PluginsUpdateIn, PluginsUpdateOut]{
		Description: "Update the plugins of a blueprint's deployments (POST /plugins-updates/{blueprint}/update/initiate) and wait until the update ends.",
		Mutating:    true,
		Apply:       m.pluginsUpdate,
		Plan: func(_ context.Context, in PluginsUpdateIn) (PluginsUpdateOut, []string, error) {
			if _, err := mapping(in.Mapping); err != nil {
				return PluginsUpdateOut{}, nil, err
			}
			return PluginsUpdateOut{BlueprintID: in.BlueprintID}, []string{"blueprint_id"}, nil
		},
		Check: m.pluginsUpdateCheck,
	})
	p.Action("cluster_status", sdk.Action[ClusterStatusIn, ClusterStatusOut]{
		Description: "Read the cluster's status (GET /cluster-status): overall, per service, per node; optionally wait until it is one of wait_for.",
		Idempotent:  true,
		Apply:       m.clusterStatus,
		Plan: func(ctx context.Context, in ClusterStatusIn) (ClusterStatusOut, []string, error) {
			if len(in.WaitFor) > 0 {
				// The state it waits for is not there yet, or it would
				// not wait: known after apply.
				return ClusterStatusOut{}, nil, nil
			}
			out, err := m.clusterStatus(ctx, in, nopReporter{})
			return out, []string{"status", "services", "nodes", "managers", "failed_managers"}, err
		},
	})
	p.Action("manager_status", sdk.Action[None, ManagerStatusOut]{
		Description: "Read the manager's status and services (GET /status) and its version (GET /version).",
		Idempotent:  true,
		Apply: func(ctx context.Context, _ None, _ sdk.Reporter) (ManagerStatusOut, error) {
			return m.managerStatus(ctx)
		},
		Plan: func(ctx context.Context, _ None) (ManagerStatusOut, []string, error) {
			out, err := m.managerStatus(ctx)
			return out, []string{"status", "healthy", "services", "version", "edition"}, err
		},
	})
}

func mapping(v cty.Value) (map[string]any, error) {
	p, err := parameters(v)
	if err != nil {
		return nil, sdk.AttributeError("mapping", fmt.Errorf("mapping: %w", err))
	}
	return p, nil
}

func (m *mgr) pluginsUpdate(ctx context.Context, in PluginsUpdateIn, r sdk.Reporter) (PluginsUpdateOut, error) {
	c, poll, err := m.client()
	if err != nil {
		return PluginsUpdateOut{}, err
	}
	mp, err := mapping(in.Mapping)
	if err != nil {
		return PluginsUpdateOut{}, err
	}
	u, err := c.PluginsUpdates.Update(ctx, in.BlueprintID, client.PluginsUpdateOptions{
		PluginNames: in.PluginNames, ToLatest: in.ToLatest, AllToLatest: in.AllToLatest, ToMinor: in.ToMinor,
		AllToMinor: in.AllToMinor, Mapping: mp, Force: in.Force, AutoCorrectTypes: in.AutoCorrectTypes,
		ReevaluateActiveStatuses: in.ReevaluateActiveStatuses, AllTenants: in.AllTenants,
	})
	if err != nil {
		return PluginsUpdateOut{}, apiErr(err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("plugins update %s of blueprint %s: %s (deployments: %s)", u.ID, in.BlueprintID, u.State, strings.Join(u.DeploymentsToUpdate, ", ")))
	if !boolOr(in.Wait, true) || u.Ended() {
		return pluginsUpdateOut(u), checkUpdate(u)
	}
	if u.ExecutionID != "" {
		_, err := c.WaitExecution(ctx, u.ExecutionID, poll, func(ev client.Event) { logEvent(r, ev) })
		if err != nil && ctx.Err() != nil {
			return PluginsUpdateOut{}, err
		}
		// A failed workflow shows in the update's state below.
	}
	err = persist(ctx, poll, func() error {
		for {
			var err error
			u, err = c.PluginsUpdates.Get(ctx, u.ID)
			if err != nil || u.Ended() {
				return err
			}
			if err := sleep(ctx, poll); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return PluginsUpdateOut{}, err
	}
	r.Log(sdk.LevelInfo, "plugins update "+u.ID+": "+u.State)
	return pluginsUpdateOut(u), checkUpdate(u)
}

func checkUpdate(u *client.PluginsUpdate) error {
	if u.State == client.PluginsUpdateFailed {
		return fmt.Errorf("plugins update %s of blueprint %s failed (execution %s)", u.ID, u.BlueprintID, u.ExecutionID)
	}
	return nil
}

// pluginsUpdateCheck: Applied when an update of the blueprint was created
// after the interrupted attempt started and has succeeded; NotApplied when
// none was; otherwise the operator decides.
func (m *mgr) pluginsUpdateCheck(ctx context.Context, in PluginsUpdateIn, started time.Time) (sdk.CheckResult, PluginsUpdateOut, error) {
	c, _, err := m.client()
	if err != nil {
		return sdk.Unknown, PluginsUpdateOut{}, err
	}
	if started.IsZero() {
		return sdk.Unknown, PluginsUpdateOut{}, nil
	}
	l, err := c.PluginsUpdates.List(ctx, &client.ListOptions{
		Filters: map[string][]string{"blueprint_id": {in.BlueprintID}}, Sort: "-created_at", Size: 50,
	})
	if err != nil {
		return sdk.Unknown, PluginsUpdateOut{}, err
	}
	for i := range l.Items {
		u := &l.Items[i]
		if t, ok := parseTime(u.CreatedAt); !ok || t.Before(started.Add(-time.Second)) {
			continue
		}
		if u.State == client.PluginsUpdateSuccessful || u.State == client.PluginsUpdateNoChangesRequired {
			return sdk.Applied, pluginsUpdateOut(u), nil
		}
		return sdk.Unknown, PluginsUpdateOut{}, nil
	}
	return sdk.NotApplied, PluginsUpdateOut{}, nil
}

func (m *mgr) clusterStatus(ctx context.Context, in ClusterStatusIn, r sdk.Reporter) (ClusterStatusOut, error) {
	c, poll, err := m.client()
	if err != nil {
		return ClusterStatusOut{}, err
	}
	for _, s := range in.WaitFor {
		switch s {
		case client.StatusOK, client.StatusDegraded, client.StatusFail:
		default:
			return ClusterStatusOut{}, sdk.AttributeError("wait_for", fmt.Errorf("wait_for: %q is not a cluster status (OK, Degraded, Fail)", s))
		}
	}
	var st *client.ClusterStatus
	if len(in.WaitFor) == 0 {
		st, err = c.ClusterStatus(ctx, in.Summary)
		if err != nil {
			return ClusterStatusOut{}, apiErr(err)
		}
	} else {
		last := ""
		err = persist(ctx, poll, func() error {
			for {
				var err error
				st, err = c.ClusterStatus(ctx, in.Summary)
				if err != nil {
					return err
				}
				if slices.Contains(in.WaitFor, st.Status) {
					return nil
				}
				if st.Status != last {
					last = st.Status
					failed := "none"
					if o := clusterOut(st); len(o.FailedManagers) > 0 {
						failed = strings.Join(o.FailedManagers, ", ")
					}
					r.Log(sdk.LevelInfo, fmt.Sprintf("cluster status %s (failed managers: %s); waiting for %s", st.Status, failed, strings.Join(in.WaitFor, " or ")))
				}
				if err := sleep(ctx, poll); err != nil {
					return err
				}
			}
		})
		if err != nil {
			return ClusterStatusOut{}, fmt.Errorf("waiting for cluster status %s: %w", strings.Join(in.WaitFor, " or "), err)
		}
	}
	return clusterOut(st), nil
}

func clusterOut(st *client.ClusterStatus) ClusterStatusOut {
	out := ClusterStatusOut{Status: st.Status, Services: map[string]string{}, Nodes: []ClusterNode{},
		Managers: []string{}, FailedManagers: []string{}}
	var services []string
	for name, svc := range st.Services {
		out.Services[name] = svc.Status
		services = append(services, name)
	}
	sort.Strings(services)
	for _, name := range services {
		svc := st.Services[name]
		var nodes []string
		for n := range svc.Nodes {
			nodes = append(nodes, n)
		}
		sort.Strings(nodes)
		for _, n := range nodes {
			node := svc.Nodes[n]
			out.Nodes = append(out.Nodes, ClusterNode{Service: name, Name: n, Status: node.Status, Version: node.Version,
				PublicIP: node.PublicIP, PrivateIP: node.PrivateIP})
			if name == "manager" {
				out.Managers = append(out.Managers, n)
				if node.Status != client.StatusOK {
					out.FailedManagers = append(out.FailedManagers, n)
				}
			}
		}
	}
	return out
}

func (m *mgr) managerStatus(ctx context.Context) (ManagerStatusOut, error) {
	c, _, err := m.client()
	if err != nil {
		return ManagerStatusOut{}, err
	}
	st, err := c.Status(ctx, false)
	if err != nil {
		return ManagerStatusOut{}, apiErr(err)
	}
	v, err := c.Version(ctx)
	if err != nil {
		return ManagerStatusOut{}, apiErr(err)
	}
	out := ManagerStatusOut{Status: st.Status, Healthy: st.Healthy(), Services: []ServiceStatus{}, Version: v.Version, Edition: v.Edition}
	for _, s := range st.Services {
		out.Services = append(out.Services, ServiceStatus{Name: s.Name, Status: s.Status})
	}
	return out, nil
}
