package manager

import (
	"fmt"
	"strings"
	"time"
)

// Generations the simulator can answer as.
const (
	// GenerationCurrent answers as Cloudify 7.x (cloudify-manager HEAD).
	GenerationCurrent = "current"
	// Generation50 answers as Cloudify 5.0.5: /snapshot-status returns the
	// 5.0-era sentences, restore requires recreate_deployments_envs, GET
	// /tokens hands out an opaque token, plugins-update force is a query
	// argument.
	Generation50 = "5.0"
)

// Execution statuses (cloudify-common cloudify/models_states.py ExecutionState).
const (
	execTerminated      = "terminated"
	execFailed          = "failed"
	execCancelled       = "cancelled"
	execPending         = "pending"
	execStarted         = "started"
	execCancelling      = "cancelling"
	execForceCancelling = "force_cancelling"
	execKillCancelling  = "kill_cancelling"
	execQueued          = "queued"
	execScheduled       = "scheduled"
)

// Snapshot statuses (cloudify/models_states.py SnapshotState).
const (
	snapCreated  = "created"
	snapFailed   = "failed"
	snapCreating = "creating"
	snapUploaded = "uploaded"
)

// Maintenance mode statuses (manager_rest/constants.py).
const (
	maintActivated   = "activated"
	maintActivating  = "activating"
	maintDeactivated = "deactivated"
)

// Plugins update states (manager_rest/plugins_update/constants.py).
const (
	puExecutingWorkflow  = "executing_workflow"
	puSuccessful         = "successful"
	puFailed             = "failed"
	puNoChangesRequired  = "no_changes_required"
	defaultTenant        = "default_tenant"
	roleSysAdmin         = "sys_admin"
	roleDefault          = "default"
	statusOK             = "OK"
	statusDegraded       = "Degraded"
	statusFail           = "Fail"
	serviceActive        = "Active"
	serviceInactive      = "Inactive"
	visibilityPrivate    = "private"
	visibilityTenant     = "tenant"
	defaultPageSize      = 1000 // config.instance.default_page_size
	maxResults           = 1000 // config.instance.max_results
	restoreFlagStatusRun = "running"
	restoreFlagStatusNot = "not-running"
	// 5.0-era /snapshot-status sentences (Cloudify docs, "Backup and Restore
	// Guide", seed 002).
	restoreStatus50Running = "Snapshot restore in progress...\nThis may take a while, depending on the snapshot size."
	restoreStatus50Not     = "No `restore_snapshot` workflow currently running."
)

var (
	execEndStates    = []string{execTerminated, execFailed, execCancelled}
	execActiveStates = []string{execPending, execStarted, execCancelling, execForceCancelling, execKillCancelling}
	execAllStates    = []string{execTerminated, execFailed, execCancelled, execPending, execStarted, execCancelling, execForceCancelling, execKillCancelling, execQueued, execScheduled}
)

func validExecStatus(s string) bool { return contains(execAllStates, s) }
func isEnd(s string) bool           { return contains(execEndStates, s) }
func isActive(s string) bool        { return contains(execActiveStates, s) }

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// defaultWorkflows are the built-in workflows every deployment has.
var defaultWorkflows = []string{"install", "uninstall", "heal", "scale", "update", "execute_operation", "install_new_agents", "start", "stop", "restart"}

// installNewAgentsParams are install_new_agents' declared parameters and
// defaults (cloudify-manager resources/rest-service/cloudify/types/types.yaml).
var installNewAgentsParams = map[string]any{
	"install_agent_timeout": 300,
	"node_ids":              []any{},
	"node_instance_ids":     []any{},
	"install_methods":       nil,
	"validate":              true,
	"install":               true,
	"install_script":        "",
	"manager_ip":            "",
	"manager_certificate":   "",
	"stop_old_agent":        false,
}

type user struct {
	id       int
	username string
	password string
	role     string
	tenants  map[string]string
	active   bool
}

func (u *user) isAdmin() bool { return u.role == roleSysAdmin }

type token struct {
	id          string
	secret      string // ctok-<id>-<secret>
	value       string // 5.0-style opaque value, when set
	username    string
	description string
	expiration  time.Time
	lastUsed    time.Time
}

type snapshot struct {
	id         string
	tenant     string
	status     string
	errMsg     string
	createdAt  time.Time
	createdBy  string
	visibility string
	archive    []byte // nil until created or uploaded
	contents   *Contents
	// nullUpload marks the quirk of uploading onto an existing id.
}

type blueprint struct {
	id, tenant, createdBy, description, mainFile string
	createdAt                                    time.Time
	plugins                                      []PluginRef
}

type deployment struct {
	id, tenant, blueprintID, createdBy, displayName string
	createdAt                                       time.Time
	workflows                                       []string
}

type plugin struct {
	id, tenant, packageName, packageVersion, distribution string
	uploadedAt                                            time.Time
}

type execution struct {
	id           string
	tenant       string
	workflowID   string
	deploymentID string
	blueprintID  string
	status       string
	errMsg       string
	parameters   map[string]any
	isSystem     bool
	isDryRun     bool
	allowCustom  bool
	createdAt    time.Time
	startedAt    time.Time
	endedAt      time.Time
	scheduledFor time.Time
	createdBy    string
	resume       bool

	// Simulation bookkeeping.
	nextAt     time.Time // when the next transition happens (zero: none)
	failWith   string    // the run ends failed with this error
	restarting bool      // restore_snapshot: the manager is restarting
	restartAt  time.Time // restore_snapshot: the restart window
	upAt       time.Time
}

type event struct {
	ts          time.Time
	typ         string // cloudify_event | cloudify_log
	eventType   string
	level       string
	message     string
	execID      string
	workflowID  string
	deployment  string
	blueprint   string
	tenant      string
	errorCauses []map[string]any
}

type pluginsUpdate struct {
	id                  string
	tenant              string
	state               string
	blueprintID         string
	executionID         string
	deploymentsToUpdate []string
	forced              bool
	allTenants          bool
	createdAt           time.Time
	createdBy           string
	targets             []PluginRef // plugin versions the update moves to
}

type managerNode struct {
	id                                  int
	hostname, privateIP, publicIP       string
	version, edition, distro, distroRel string
	status                              string
	networks                            map[string]string
	lastSeen                            time.Time
}

type maintenance struct {
	status      string
	activatedAt time.Time
	requestedAt time.Time
	requestedBy string
}

// ts renders a timestamp the way the manager does: UTC, milliseconds, Z.
func ts(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// tsOrNil is ts, or JSON null for the zero time.
func tsOrNil(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return ts(t)
}

func strOrNil(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (s *snapshot) json() map[string]any {
	return map[string]any{
		"id":                    s.id,
		"created_at":            ts(s.createdAt),
		"status":                s.status,
		"error":                 s.errMsg,
		"created_by":            s.createdBy,
		"tenant_name":           s.tenant,
		"visibility":            s.visibility,
		"private_resource":      s.visibility == visibilityPrivate,
		"resource_availability": s.visibility,
	}
}

// nullSnapshotJSON is what PUT /snapshots/{id}/archive answers when the id
// already exists: the archive is stored and a Snapshot with null fields
// comes back (apis.md 1.1).
func nullSnapshotJSON() map[string]any {
	m := map[string]any{}
	for _, k := range []string{"id", "created_at", "status", "error", "created_by", "tenant_name", "visibility", "private_resource", "resource_availability"} {
		m[k] = nil
	}
	return m
}

func statusDisplay(status string) string {
	if status == execTerminated {
		return "completed"
	}
	return status
}

func (e *execution) json(deps map[string]*deployment) map[string]any {
	params := e.parameters
	if params == nil {
		params = map[string]any{}
	}
	display := any(nil)
	if d := deps[e.tenant+"/"+e.deploymentID]; d != nil {
		display = d.displayName
	}
	return map[string]any{
		"id":                      e.id,
		"workflow_id":             e.workflowID,
		"deployment_id":           strOrNil(e.deploymentID),
		"deployment_display_name": display,
		"blueprint_id":            strOrNil(e.blueprintID),
		"status":                  e.status,
		"status_display":          statusDisplay(e.status),
		"error":                   e.errMsg,
		"parameters":              params,
		"is_system_workflow":      e.isSystem,
		"is_dry_run":              e.isDryRun,
		"created_at":              tsOrNil(e.createdAt),
		"started_at":              tsOrNil(e.startedAt),
		"ended_at":                tsOrNil(e.endedAt),
		"scheduled_for":           tsOrNil(e.scheduledFor),
		"created_by":              e.createdBy,
		"tenant_name":             e.tenant,
		"visibility":              visibilityTenant,
		"private_resource":        false,
		"resource_availability":   visibilityTenant,
		"total_operations":        nil,
		"finished_operations":     nil,
		"allow_custom_parameters": e.allowCustom,
		"resume":                  e.resume,
		"execution_group_id":      nil,
	}
}

// restoreResponseJSON is POST /snapshots/{id}/restore's answer: the
// endpoint is declared marshal_with(models.Snapshot), so the execution comes
// back with only the Snapshot fields (apis.md 1.1).
func (e *execution) restoreResponseJSON() map[string]any {
	return map[string]any{
		"id":                    e.id,
		"created_at":            ts(e.createdAt),
		"status":                e.status,
		"error":                 e.errMsg,
		"created_by":            e.createdBy,
		"tenant_name":           e.tenant,
		"visibility":            visibilityPrivate,
		"private_resource":      true,
		"resource_availability": visibilityPrivate,
	}
}

func (ev *event) json() map[string]any {
	causes := any(nil)
	if ev.errorCauses != nil {
		causes = ev.errorCauses
	}
	m := map[string]any{
		"timestamp":               ts(ev.ts),
		"reported_timestamp":      ts(ev.ts),
		"blueprint_id":            strOrNil(ev.blueprint),
		"deployment_id":           strOrNil(ev.deployment),
		"deployment_display_name": strOrNil(ev.deployment),
		"execution_id":            ev.execID,
		"execution_group_id":      nil,
		"workflow_id":             ev.workflowID,
		"message":                 ev.message,
		"error_causes":            causes,
		"event_type":              ev.eventType,
		"operation":               nil,
		"source_id":               nil,
		"target_id":               nil,
		"manager_name":            nil,
		"agent_name":              nil,
		"node_instance_id":        nil,
		"node_name":               nil,
		"logger":                  ev.execID,
		"level":                   ev.level,
		"type":                    ev.typ,
	}
	// events.py: cloudify_event items lose logger and level, cloudify_log
	// items lose event_type (apis.md 1.3).
	if ev.typ == "cloudify_event" {
		delete(m, "logger")
		delete(m, "level")
	} else {
		delete(m, "event_type")
	}
	return m
}

func (b *blueprint) json() map[string]any {
	plugins := []any{}
	for _, p := range b.plugins {
		plugins = append(plugins, map[string]any{"package_name": p.PackageName, "package_version": p.PackageVersion})
	}
	return map[string]any{
		"id":                    b.id,
		"description":           b.description,
		"main_file_name":        b.mainFile,
		"created_at":            ts(b.createdAt),
		"updated_at":            ts(b.createdAt),
		"created_by":            b.createdBy,
		"tenant_name":           b.tenant,
		"visibility":            visibilityTenant,
		"private_resource":      false,
		"resource_availability": visibilityTenant,
		"state":                 "uploaded",
		"error":                 nil,
		"labels":                []any{},
		"plan":                  map[string]any{"deployment_plugins_to_install": plugins, "workflow_plugins_to_install": []any{}},
	}
}

func (d *deployment) json(latest *execution) map[string]any {
	wfs := []any{}
	for _, w := range d.workflows {
		params := map[string]any{}
		if w == "install_new_agents" {
			for k, v := range installNewAgentsParams {
				params[k] = map[string]any{"default": v}
			}
		}
		wfs = append(wfs, map[string]any{
			"name":       w,
			"plugin":     "default_workflows",
			"operation":  "cloudify.plugins.workflows." + w,
			"parameters": params,
		})
	}
	var latestStatus any
	if latest != nil {
		latestStatus = latest.status
	}
	return map[string]any{
		"id":                      d.id,
		"display_name":            d.displayName,
		"blueprint_id":            d.blueprintID,
		"created_at":              ts(d.createdAt),
		"updated_at":              ts(d.createdAt),
		"created_by":              d.createdBy,
		"tenant_name":             d.tenant,
		"visibility":              visibilityTenant,
		"private_resource":        false,
		"resource_availability":   visibilityTenant,
		"workflows":               wfs,
		"installation_status":     "active",
		"deployment_status":       "good",
		"latest_execution_status": latestStatus,
		"labels":                  []any{},
	}
}

func (p *plugin) json() map[string]any {
	return map[string]any{
		"id":                    p.id,
		"package_name":          p.packageName,
		"package_version":       p.packageVersion,
		"archive_name":          fmt.Sprintf("%s-%s-py3-none-%s.wgn", strings.ReplaceAll(p.packageName, "-", "_"), p.packageVersion, p.distribution),
		"distribution":          p.distribution,
		"supported_platform":    "any",
		"uploaded_at":           ts(p.uploadedAt),
		"created_by":            "admin",
		"tenant_name":           p.tenant,
		"visibility":            visibilityTenant,
		"private_resource":      false,
		"resource_availability": visibilityTenant,
		"installation_state":    []any{},
	}
}

func (u *pluginsUpdate) json() map[string]any {
	deps := []any{}
	for _, d := range u.deploymentsToUpdate {
		deps = append(deps, d)
	}
	return map[string]any{
		"id":                     u.id,
		"state":                  u.state,
		"blueprint_id":           u.blueprintID,
		"temp_blueprint_id":      nil,
		"execution_id":           strOrNil(u.executionID),
		"deployments_to_update":  deps,
		"deployments_per_tenant": map[string]any{u.tenant: deps},
		"forced":                 u.forced,
		"all_tenants":            u.allTenants,
		"created_at":             ts(u.createdAt),
		"created_by":             u.createdBy,
		"tenant_name":            u.tenant,
		"visibility":             visibilityTenant,
		"private_resource":       false,
		"resource_availability":  visibilityTenant,
	}
}

func (m *managerNode) json() map[string]any {
	nets := map[string]any{}
	for k, v := range m.networks {
		nets[k] = v
	}
	return map[string]any{
		"id":                      m.id,
		"hostname":                m.hostname,
		"private_ip":              m.privateIP,
		"public_ip":               m.publicIP,
		"version":                 m.version,
		"edition":                 m.edition,
		"distribution":            m.distro,
		"distro_release":          m.distroRel,
		"fs_sync_node_id":         "",
		"networks":                nets,
		"last_seen":               ts(m.lastSeen),
		"status_report_frequency": 60,
		"ca_cert_content":         "-----BEGIN CERTIFICATE-----\nSIMULATED\n-----END CERTIFICATE-----\n",
	}
}
