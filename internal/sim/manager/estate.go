package manager

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
)

// Estate is the initial state of a simulated manager: what `runbook sim
// manager --estate FILE` reads (JSON, unknown fields rejected). Every field is
// optional; a nil or empty Estate is DefaultEstate. docs/simulators.md
// documents the format with an example.
//
// Timestamps are RFC 3339 ("2020-03-13T04:00:00.000Z") or an offset from the
// moment the simulator starts ("-2h", "+30m"), so that an estate can hold
// executions scheduled in the past (overdue after a restore) and in the future.
type Estate struct {
	// Generation is "current" (7.x, the default) or "5.0" (5.0.5-era answers,
	// see Options.Generation). Options.Generation wins when both are set.
	Generation string       `json:"generation,omitempty"`
	Version    *VersionInfo `json:"version,omitempty"`
	// Users default to admin/admin (sys_admin) in default_tenant.
	Users []EstateUser `json:"users,omitempty"`
	// Tenants default to ["default_tenant"]; tenants named by users, tokens
	// and resources are added.
	Tenants   []string         `json:"tenants,omitempty"`
	Tokens    []EstateToken    `json:"tokens,omitempty"`
	Snapshots []EstateSnapshot `json:"snapshots,omitempty"`
	// Managers are the cluster nodes (GET /managers, /cluster-status);
	// default one all-in-one node "cfy-manager".
	Managers []EstateManager `json:"managers,omitempty"`
	// Contents: blueprints, deployments, plugins and executions.
	Contents
}

// Contents is what a snapshot carries and what restoring it puts back: the
// manager's blueprints, deployments, plugins and executions. The estate's
// top level holds the live contents; a snapshot's "contents" what restoring
// that snapshot installs.
type Contents struct {
	Blueprints  []EstateBlueprint  `json:"blueprints,omitempty"`
	Deployments []EstateDeployment `json:"deployments,omitempty"`
	Plugins     []EstatePlugin     `json:"plugins,omitempty"`
	Executions  []EstateExecution  `json:"executions,omitempty"`
}

// VersionInfo is GET /version.
type VersionInfo struct {
	Version       string `json:"version"`
	Edition       string `json:"edition,omitempty"`
	Build         string `json:"build,omitempty"`
	Date          string `json:"date,omitempty"`
	Commit        string `json:"commit,omitempty"`
	Distribution  string `json:"distribution,omitempty"`
	DistroRelease string `json:"distro_release,omitempty"`
}

// EstateUser is a manager user. Role is the system role: "sys_admin" or
// "default". Tenants maps a tenant to the user's role in it ("user",
// "manager", "operations", "viewer"); a sys_admin may use every tenant.
type EstateUser struct {
	Username string            `json:"username"`
	Password string            `json:"password"`
	Role     string            `json:"role,omitempty"`
	Tenants  map[string]string `json:"tenants,omitempty"`
	Active   *bool             `json:"active,omitempty"`
}

// EstateToken is an API token that exists before the simulator starts. The
// value clients send is "ctok-<id>-<secret>" (current generation) or Value
// verbatim (a 5.0-style opaque token).
type EstateToken struct {
	ID             string `json:"id"`
	Username       string `json:"username"`
	Secret         string `json:"secret,omitempty"`
	Value          string `json:"value,omitempty"`
	Description    string `json:"description,omitempty"`
	ExpirationDate string `json:"expiration_date,omitempty"`
}

// EstateSnapshot is a snapshot already on the manager. Its archive is
// PayloadBase64 (decoded), Payload (text), Size deterministic bytes, or, with
// none of them, a zip the simulator builds from Contents.
type EstateSnapshot struct {
	ID            string    `json:"id"`
	Tenant        string    `json:"tenant,omitempty"`
	Status        string    `json:"status,omitempty"`
	CreatedAt     string    `json:"created_at,omitempty"`
	CreatedBy     string    `json:"created_by,omitempty"`
	Error         string    `json:"error,omitempty"`
	Visibility    string    `json:"visibility,omitempty"`
	PayloadBase64 string    `json:"payload_base64,omitempty"`
	Payload       string    `json:"payload,omitempty"`
	Size          int64     `json:"size,omitempty"`
	Contents      *Contents `json:"contents,omitempty"`
}

// EstateBlueprint is an uploaded blueprint; Plugins are the plugins its plan
// uses (what a plugins update looks at).
type EstateBlueprint struct {
	ID           string      `json:"id"`
	Tenant       string      `json:"tenant,omitempty"`
	CreatedAt    string      `json:"created_at,omitempty"`
	CreatedBy    string      `json:"created_by,omitempty"`
	Description  string      `json:"description,omitempty"`
	MainFileName string      `json:"main_file_name,omitempty"`
	Plugins      []PluginRef `json:"plugins,omitempty"`
}

// PluginRef names a plugin version a blueprint uses.
type PluginRef struct {
	PackageName    string `json:"package_name"`
	PackageVersion string `json:"package_version"`
}

// EstateDeployment is a deployment of a blueprint. Workflows default to the
// built-in set (install, uninstall, heal, scale, update, execute_operation,
// install_new_agents, start, stop, restart).
type EstateDeployment struct {
	ID          string   `json:"id"`
	Tenant      string   `json:"tenant,omitempty"`
	BlueprintID string   `json:"blueprint_id"`
	CreatedAt   string   `json:"created_at,omitempty"`
	CreatedBy   string   `json:"created_by,omitempty"`
	DisplayName string   `json:"display_name,omitempty"`
	Workflows   []string `json:"workflows,omitempty"`
}

// EstatePlugin is an uploaded plugin (wagon).
type EstatePlugin struct {
	ID             string `json:"id"`
	Tenant         string `json:"tenant,omitempty"`
	PackageName    string `json:"package_name"`
	PackageVersion string `json:"package_version"`
	Distribution   string `json:"distribution,omitempty"`
	UploadedAt     string `json:"uploaded_at,omitempty"`
}

// EstateExecution is an execution that exists when the simulator starts:
// finished history, or "scheduled" with ScheduledFor (seed 002's special
// case), or pending/started (it then runs to its end like a new one).
type EstateExecution struct {
	ID               string         `json:"id"`
	Tenant           string         `json:"tenant,omitempty"`
	WorkflowID       string         `json:"workflow_id"`
	DeploymentID     string         `json:"deployment_id,omitempty"`
	Status           string         `json:"status,omitempty"`
	Error            string         `json:"error,omitempty"`
	Parameters       map[string]any `json:"parameters,omitempty"`
	IsSystemWorkflow bool           `json:"is_system_workflow,omitempty"`
	CreatedAt        string         `json:"created_at,omitempty"`
	StartedAt        string         `json:"started_at,omitempty"`
	EndedAt          string         `json:"ended_at,omitempty"`
	ScheduledFor     string         `json:"scheduled_for,omitempty"`
	CreatedBy        string         `json:"created_by,omitempty"`
}

// EstateManager is a manager node of the cluster. Status is "OK" or "Fail"
// (POST /_sim/faults can change it while the simulator runs).
type EstateManager struct {
	Hostname      string            `json:"hostname"`
	PrivateIP     string            `json:"private_ip,omitempty"`
	PublicIP      string            `json:"public_ip,omitempty"`
	Version       string            `json:"version,omitempty"`
	Edition       string            `json:"edition,omitempty"`
	Distribution  string            `json:"distribution,omitempty"`
	DistroRelease string            `json:"distro_release,omitempty"`
	Status        string            `json:"status,omitempty"`
	Networks      map[string]string `json:"networks,omitempty"`
}

// DefaultEstate is the manager `runbook sim manager` serves without
// --estate: user admin, password admin, tenant default_tenant, one node.
func DefaultEstate() *Estate {
	return &Estate{}
}

// LoadEstate reads and checks an estate file.
func LoadEstate(path string) (*Estate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseEstate(b)
}

// ParseEstate decodes an estate from JSON, rejecting unknown fields, and
// checks it.
func ParseEstate(b []byte) (*Estate, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e Estate
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("estate: %w", err)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

// Validate reports the first thing in the estate the simulator cannot use.
func (e *Estate) Validate() error {
	if e == nil {
		return nil
	}
	switch e.Generation {
	case "", GenerationCurrent, Generation50:
	default:
		return fmt.Errorf("estate: generation %q: want %q or %q", e.Generation, GenerationCurrent, Generation50)
	}
	now := time.Unix(0, 0)
	users := map[string]bool{}
	for i, u := range e.Users {
		if u.Username == "" {
			return fmt.Errorf("estate: users[%d]: username is empty", i)
		}
		if users[u.Username] {
			return fmt.Errorf("estate: users[%d]: duplicate username %q", i, u.Username)
		}
		users[u.Username] = true
		switch u.Role {
		case "", roleSysAdmin, roleDefault:
		default:
			return fmt.Errorf("estate: users[%d]: role %q: want %q or %q", i, u.Role, roleSysAdmin, roleDefault)
		}
	}
	for i, t := range e.Tokens {
		if t.ID == "" && t.Value == "" {
			return fmt.Errorf("estate: tokens[%d]: id (or value) is required", i)
		}
		if t.Value == "" && t.Secret == "" {
			return fmt.Errorf("estate: tokens[%d]: secret (or value) is required", i)
		}
		if len(e.Users) > 0 && !users[t.Username] {
			return fmt.Errorf("estate: tokens[%d]: unknown user %q", i, t.Username)
		}
		if t.ExpirationDate != "" {
			if _, err := parseEstateTime(t.ExpirationDate, now); err != nil {
				return fmt.Errorf("estate: tokens[%d].expiration_date: %w", i, err)
			}
		}
	}
	ids := map[string]bool{}
	for i, sn := range e.Snapshots {
		if sn.ID == "" {
			return fmt.Errorf("estate: snapshots[%d]: id is empty", i)
		}
		key := sn.Tenant + "/" + sn.ID
		if ids[key] {
			return fmt.Errorf("estate: snapshots[%d]: duplicate id %q", i, sn.ID)
		}
		ids[key] = true
		switch sn.Status {
		case "", snapCreated, snapFailed, snapCreating, snapUploaded:
		default:
			return fmt.Errorf("estate: snapshots[%d]: status %q is not a snapshot status (created, failed, creating, uploaded)", i, sn.Status)
		}
		if sn.PayloadBase64 != "" {
			if _, err := base64.StdEncoding.DecodeString(sn.PayloadBase64); err != nil {
				return fmt.Errorf("estate: snapshots[%d].payload_base64: %w", i, err)
			}
		}
		if sn.Size < 0 {
			return fmt.Errorf("estate: snapshots[%d].size is negative", i)
		}
		if err := checkTime(sn.CreatedAt, fmt.Sprintf("snapshots[%d].created_at", i)); err != nil {
			return err
		}
		if sn.Contents != nil {
			if err := sn.Contents.validate(fmt.Sprintf("snapshots[%d].contents.", i)); err != nil {
				return err
			}
		}
	}
	for i, m := range e.Managers {
		if m.Hostname == "" {
			return fmt.Errorf("estate: managers[%d]: hostname is empty", i)
		}
		switch m.Status {
		case "", statusOK, statusFail:
		default:
			return fmt.Errorf("estate: managers[%d]: status %q: want OK or Fail", i, m.Status)
		}
	}
	return e.validate("")
}

func (c *Contents) validate(prefix string) error {
	bps := map[string]bool{}
	for i, b := range c.Blueprints {
		if b.ID == "" {
			return fmt.Errorf("estate: %sblueprints[%d]: id is empty", prefix, i)
		}
		bps[b.Tenant+"/"+b.ID] = true
		if err := checkTime(b.CreatedAt, fmt.Sprintf("%sblueprints[%d].created_at", prefix, i)); err != nil {
			return err
		}
	}
	for i, d := range c.Deployments {
		if d.ID == "" {
			return fmt.Errorf("estate: %sdeployments[%d]: id is empty", prefix, i)
		}
		if !bps[d.Tenant+"/"+d.BlueprintID] {
			return fmt.Errorf("estate: %sdeployments[%d]: blueprint %q is not in the estate (same tenant)", prefix, i, d.BlueprintID)
		}
	}
	for i, p := range c.Plugins {
		if p.ID == "" || p.PackageName == "" {
			return fmt.Errorf("estate: %splugins[%d]: id and package_name are required", prefix, i)
		}
	}
	for i, x := range c.Executions {
		if x.ID == "" || x.WorkflowID == "" {
			return fmt.Errorf("estate: %sexecutions[%d]: id and workflow_id are required", prefix, i)
		}
		if x.Status != "" && !validExecStatus(x.Status) {
			return fmt.Errorf("estate: %sexecutions[%d]: status %q is not an execution status", prefix, i, x.Status)
		}
		if x.Status == execScheduled && x.ScheduledFor == "" {
			return fmt.Errorf("estate: %sexecutions[%d]: a scheduled execution needs scheduled_for", prefix, i)
		}
		for _, f := range []struct{ v, n string }{{x.CreatedAt, "created_at"}, {x.StartedAt, "started_at"}, {x.EndedAt, "ended_at"}, {x.ScheduledFor, "scheduled_for"}} {
			if err := checkTime(f.v, fmt.Sprintf("%sexecutions[%d].%s", prefix, i, f.n)); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkTime(s, what string) error {
	if s == "" {
		return nil
	}
	if _, err := parseEstateTime(s, time.Unix(0, 0)); err != nil {
		return fmt.Errorf("estate: %s: %w", what, err)
	}
	return nil
}

// parseEstateTime accepts RFC 3339 (with or without fractional seconds) or a
// signed Go duration relative to base.
func parseEstateTime(s string, base time.Time) (time.Time, error) {
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		d, err := time.ParseDuration(s)
		if err == nil {
			return base.Add(d), nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor an offset like \"-2h\"", s)
	}
	return t.UTC(), nil
}
