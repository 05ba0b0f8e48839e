package client

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
)

// Overall and per-node statuses (cloudify/cluster_status.py).
const (
	StatusOK       = "OK"
	StatusDegraded = "Degraded"
	StatusFail     = "Fail"
	// StatusRunning is what managers before 5.0.5 answer on /status.
	StatusRunning = "running"

	ServiceActive   = "Active"
	ServiceInactive = "Inactive"
)

// ServiceStatus is one service of a manager or cluster node, normalised from
// the shapes of both generations.
type ServiceStatus struct {
	// Name is the display name ("Webserver", "RabbitMQ", ...).
	Name string
	// Status is "Active" or "Inactive" on 5.0.5 and later; for the 4.x
	// /status shape it is the first instance's ActiveState (systemd's
	// "active", "failed", ...).
	Status string
	// UnitID is the systemd or supervisord unit (cluster-status from 5.1).
	UnitID string
	// IsRemote is set for services the manager reaches over the network.
	IsRemote bool
	// ExtraInfo is the service's extra_info object, as sent.
	ExtraInfo map[string]any
	// Instances are the 4.x DBus instance records, as sent.
	Instances []map[string]any
}

// Active reports whether the service runs.
func (s ServiceStatus) Active() bool {
	return s.Status == ServiceActive || s.Status == "active"
}

// ManagerStatus is the answer of GET /status.
type ManagerStatus struct {
	// Status is "OK" or "Fail" (5.0.5 and later), or "running" (4.x).
	Status string
	// Services, sorted by name; empty for a summary.
	Services []ServiceStatus
}

// Healthy reports whether the manager says it is healthy.
func (m *ManagerStatus) Healthy() bool { return m.Status == StatusOK || m.Status == StatusRunning }

// Status reads the manager's services (GET /status). With summary, only the
// overall status comes back (?summary=true).
func (c *Client) Status(ctx context.Context, summary bool) (*ManagerStatus, error) {
	req := &request{method: "GET", path: "/status"}
	if summary {
		req.query = url.Values{"summary": {"true"}}
	}
	var body struct {
		Status   string          `json:"status"`
		Services json.RawMessage `json:"services"`
	}
	if err := c.doJSON(ctx, req, &body); err != nil {
		return nil, err
	}
	services, err := parseServices(body.Services)
	if err != nil {
		return nil, fmt.Errorf("manager API GET %s/status: services: %w", c.base.EscapedPath(), err)
	}
	return &ManagerStatus{Status: body.Status, Services: services}, nil
}

// OK asks the unauthenticated health check (GET /ok): nil when the manager
// answers 200, an *APIError (500) when it says it is unhealthy.
func (c *Client) OK(ctx context.Context) error {
	resp, err := c.do(ctx, &request{method: "GET", path: "/ok", noAuth: true})
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxErrorBody))
	return nil
}

// Version is the answer of GET /api/version.
type Version struct {
	Version string `json:"version"`
	Edition string `json:"edition"` // "community" or "premium"
	Build   string `json:"build"`
	Date    string `json:"date"`
	Commit  string `json:"commit"`
}

// Version reads the manager's version (GET /api/version, unversioned).
func (c *Client) Version(ctx context.Context) (*Version, error) {
	var out Version
	if err := c.doJSON(ctx, &request{method: "GET", path: "/version", unversioned: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ClusterStatus is the answer of GET /cluster-status (5.0.5 and later).
type ClusterStatus struct {
	// Status is "OK", "Degraded" or "Fail".
	Status string
	// Services are keyed "manager", "db" and "broker"; empty for a summary.
	Services map[string]ClusterService
}

// ClusterService is one of the cluster's services.
type ClusterService struct {
	Status     string
	IsExternal bool
	Nodes      map[string]ClusterNode
}

// ClusterNode is one node of a cluster service.
type ClusterNode struct {
	Status    string
	Version   string
	PublicIP  string
	PrivateIP string
	NodeID    string // 5.0.x only
	// Services are normalised from both shapes: a map keyed by display name
	// (5.0.5, {"RabbitMQ": {"status", "is_remote", "extra_info"}}) or a list
	// whose display name and unit id sit in extra_info.<process manager>
	// (5.1 and later). Absent in the non-detailed answer.
	Services []ServiceStatus
	// Metrics are the Prometheus metrics records, as sent (5.1 and later).
	Metrics []map[string]any
}

// ClusterStatus reads the cluster's status (GET /cluster-status). With
// summary (?summary=true) the manager leaves the services out and answers
// 500 when the status is Fail: that answer is returned as a ClusterStatus
// with Status "Fail", not as an error.
func (c *Client) ClusterStatus(ctx context.Context, summary bool) (*ClusterStatus, error) {
	req := &request{method: "GET", path: "/cluster-status"}
	if summary {
		req.query = url.Values{"summary": {"true"}}
		req.alsoOK = []int{http.StatusInternalServerError}
	}
	resp, err := c.do(ctx, req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode == http.StatusInternalServerError {
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		var st rawClusterStatus
		if json.Unmarshal(raw, &st) == nil && st.Status != "" {
			return st.normalise()
		}
		return nil, c.apiError(req.method, resp.Request.URL.EscapedPath(), resp, raw)
	}
	var raw rawClusterStatus
	if err := c.decode(ctx, req.method, resp, &raw); err != nil {
		return nil, err
	}
	return raw.normalise()
}

type rawClusterStatus struct {
	Status   string `json:"status"`
	Services map[string]struct {
		Status     string `json:"status"`
		IsExternal bool   `json:"is_external"`
		Nodes      map[string]struct {
			Status    string           `json:"status"`
			Version   string           `json:"version"`
			PublicIP  string           `json:"public_ip"`
			PrivateIP string           `json:"private_ip"`
			NodeID    string           `json:"node_id"`
			Services  json.RawMessage  `json:"services"`
			Metrics   []map[string]any `json:"metrics"`
		} `json:"nodes"`
	} `json:"services"`
}

func (r *rawClusterStatus) normalise() (*ClusterStatus, error) {
	out := &ClusterStatus{Status: r.Status, Services: map[string]ClusterService{}}
	for name, svc := range r.Services {
		cs := ClusterService{Status: svc.Status, IsExternal: svc.IsExternal, Nodes: map[string]ClusterNode{}}
		for nodeName, n := range svc.Nodes {
			services, err := parseServices(n.Services)
			if err != nil {
				return nil, fmt.Errorf("manager API: cluster-status %s node %s: %w", name, nodeName, err)
			}
			cs.Nodes[nodeName] = ClusterNode{
				Status: n.Status, Version: n.Version, PublicIP: n.PublicIP,
				PrivateIP: n.PrivateIP, NodeID: n.NodeID, Services: services, Metrics: n.Metrics,
			}
		}
		out.Services[name] = cs
	}
	return out, nil
}

// parseServices reads a services value of any generation:
//   - an object keyed by display name (/status from 5.0.5, cluster-status
//     nodes in 5.0.x): {"Webserver": {"status", "is_remote", "extra_info"}};
//   - a list of {"status", "extra_info": {"systemd"|"supervisord":
//     {"display_name", "unit_id", "instances"}}} (cluster-status from 5.1);
//   - a list of {"display_name", "instances": [{...DBus...}]} (4.x /status).
func parseServices(raw json.RawMessage) ([]ServiceStatus, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	type entry struct {
		Status      string           `json:"status"`
		IsRemote    bool             `json:"is_remote"`
		ExtraInfo   map[string]any   `json:"extra_info"`
		DisplayName string           `json:"display_name"`
		Instances   []map[string]any `json:"instances"`
	}
	var out []ServiceStatus
	switch raw[0] {
	case '{':
		var m map[string]entry
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, err
		}
		for name, e := range m {
			out = append(out, ServiceStatus{Name: name, Status: e.Status, IsRemote: e.IsRemote, ExtraInfo: e.ExtraInfo})
		}
	case '[':
		var l []entry
		if err := json.Unmarshal(raw, &l); err != nil {
			return nil, err
		}
		for _, e := range l {
			s := ServiceStatus{Name: e.DisplayName, Status: e.Status, IsRemote: e.IsRemote, ExtraInfo: e.ExtraInfo, Instances: e.Instances}
			for _, pm := range []string{"systemd", "supervisord"} {
				info, _ := e.ExtraInfo[pm].(map[string]any)
				if info == nil {
					continue
				}
				if s.Name == "" {
					s.Name, _ = info["display_name"].(string)
				}
				s.UnitID, _ = info["unit_id"].(string)
			}
			if s.Status == "" && len(e.Instances) > 0 {
				s.Status, _ = e.Instances[0]["ActiveState"].(string)
				if s.Status == "" {
					s.Status, _ = e.Instances[0]["state"].(string)
				}
			}
			out = append(out, s)
		}
	default:
		return nil, fmt.Errorf("unexpected services value %s", excerpt(raw))
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Manager is a manager node (GET /managers).
type Manager struct {
	ID                    int               `json:"id"`
	Hostname              string            `json:"hostname"`
	PrivateIP             string            `json:"private_ip"`
	PublicIP              string            `json:"public_ip"`
	Version               string            `json:"version"`
	Edition               string            `json:"edition"`
	Distribution          string            `json:"distribution"`
	DistroRelease         string            `json:"distro_release"`
	FSSyncNodeID          string            `json:"fs_sync_node_id"`
	Networks              map[string]string `json:"networks"`
	LastSeen              string            `json:"last_seen"`
	StatusReportFrequency int               `json:"status_report_frequency"`
	CACertContent         string            `json:"ca_cert_content"`
}

// ManagersService holds the /managers endpoints.
type ManagersService struct{ c *Client }

// List lists the manager nodes (GET /managers).
func (s *ManagersService) List(ctx context.Context, opts *ListOptions) (*List[Manager], error) {
	return list[Manager](ctx, s.c, "/managers", opts, nil, nil)
}

// Get reads one manager node (GET /managers/{hostname}).
func (s *ManagersService) Get(ctx context.Context, hostname string) (*Manager, error) {
	if err := needID("manager hostname", hostname); err != nil {
		return nil, err
	}
	var out Manager
	if err := s.c.doJSON(ctx, &request{method: "GET", path: pathOf("managers", hostname)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
