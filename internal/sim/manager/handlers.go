package manager

import (
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ---- health, status, version (resources_v3_1/status.py) ----

func (s *Server) localNode() *managerNode {
	if len(s.st.managers) == 0 {
		return nil
	}
	return s.st.managers[0]
}

func (s *Server) localHealthy() bool {
	n := s.localNode()
	return n == nil || n.status == statusOK
}

func hOK(c *call) *response {
	if c.s.localHealthy() {
		return jsonResp(http.StatusOK, "OK")
	}
	return jsonResp(http.StatusInternalServerError, "FAIL")
}

func (s *Server) nodeServices(healthy bool) map[string]any {
	names := []string{"Webserver", "AMQP-Postgres", "Management Worker", "Manager Rest-Service", "Cloudify Console", "PostgreSQL", "RabbitMQ"}
	if s.generation == GenerationCurrent {
		names = append(names, "Cloudify API", "Cloudify Execution Scheduler")
	}
	out := map[string]any{}
	for _, n := range names {
		st := serviceActive
		if !healthy && n == "Management Worker" {
			st = serviceInactive
		}
		out[n] = map[string]any{"status": st, "is_remote": false, "extra_info": map[string]any{}}
	}
	return out
}

func hStatus(c *call) *response {
	summary := false
	if v := c.query.Get("summary"); v != "" {
		b, e := convertBool("summary", v)
		if e != nil {
			return errResp(e)
		}
		summary = b
	}
	healthy := c.s.localHealthy()
	status := statusOK
	if !healthy {
		status = statusFail
	}
	services := map[string]any{}
	if !summary {
		services = c.s.nodeServices(healthy)
	}
	return jsonResp(http.StatusOK, map[string]any{"status": status, "services": services})
}

func hVersion(c *call) *response {
	v := c.s.st.version
	return getOne(c, map[string]any{
		"version": v.Version, "edition": strOrNil(v.Edition), "build": strOrNil(v.Build),
		"date": strOrNil(v.Date), "commit": strOrNil(v.Commit),
		"distribution": strOrNil(v.Distribution), "distro_release": strOrNil(v.DistroRelease),
	})
}

// ---- tokens (resources_v3_1/tokens.py) ----

func (s *Server) tokenJSON(t *token, reveal bool) map[string]any {
	role := any(nil)
	if u := s.st.users[t.username]; u != nil {
		role = u.role
	}
	secret := "********"
	if reveal {
		secret = t.secret
	}
	return map[string]any{
		"id": t.id, "username": t.username, "value": "ctok-" + t.id + "-" + secret, "role": role,
		"expiration_date": tsOrNil(t.expiration), "last_used": tsOrNil(t.lastUsed), "description": strOrNil(t.description),
	}
}

func canManageToken(c *call, t *token) bool { return t.username == c.user.username || c.user.isAdmin() }

func hTokensGet(c *call) *response {
	if c.s.generation == Generation50 {
		// 5.x: GET /tokens hands out an (opaque) token for the caller.
		t := &token{value: c.s.randomString(64), username: c.user.username}
		c.s.st.tokens = append(c.s.st.tokens, t)
		return jsonResp(http.StatusOK, map[string]any{"value": t.value, "role": c.user.role})
	}
	var items []map[string]any
	for _, t := range c.s.st.tokens {
		if t.value == "" && canManageToken(c, t) {
			items = append(items, c.s.tokenJSON(t, false))
		}
	}
	return listResp(c, items, c.s.tokenJSON(&token{}, false))
}

func hTokensPost(c *call) *response {
	if c.s.generation == Generation50 {
		return errResp(errf(http.StatusMethodNotAllowed, "method_not_allowed_error", "The method is not allowed for the requested URL."))
	}
	m, e := c.jsonBody()
	if e != nil {
		return errResp(e)
	}
	if e := verifyParams(m, paramSpec{name: "description", typ: "str", optional: true}, paramSpec{name: "expiration_date", optional: true}); e != nil {
		return errResp(e)
	}
	t := &token{id: c.s.randomString(10), secret: c.s.randomString(40), username: c.user.username}
	if d, ok := m["description"].(string); ok {
		t.description = d
	}
	if v, ok := m["expiration_date"]; ok && v != nil {
		str, _ := v.(string)
		exp, err := parseEstateTime(str, c.now)
		if err != nil {
			return errResp(badParams("Invalid expiration date: %s", pyRepr(v)))
		}
		if !exp.After(c.now) {
			return errResp(badParams("Expiration date was in the past."))
		}
		t.expiration = exp
	}
	c.s.st.tokens = append(c.s.st.tokens, t)
	return jsonResp(http.StatusOK, c.s.tokenJSON(t, true))
}

func findToken(c *call, id string) (*token, int) {
	for i, t := range c.s.st.tokens {
		if t.value == "" && t.id == id && canManageToken(c, t) {
			return t, i
		}
	}
	return nil, -1
}

func hTokenGet(c *call) *response {
	t, _ := findToken(c, c.args[0])
	if t == nil {
		return errResp(errf(http.StatusNotFound, "not_found_error", "Could not find token %s", c.args[0]))
	}
	return getOne(c, c.s.tokenJSON(t, false))
}

func hTokenDelete(c *call) *response {
	t, i := findToken(c, c.args[0])
	if t == nil {
		return errResp(errf(http.StatusNotFound, "not_found_error", "Could not find token %s", c.args[0]))
	}
	c.s.st.tokens = append(c.s.st.tokens[:i], c.s.st.tokens[i+1:]...)
	return &response{status: http.StatusNoContent}
}

// ---- snapshots (resources_v2/snapshots.py, resources_v3_1/snapshots.py) ----

var idChars = regexp.MustCompile(`^[A-Za-z0-9_.\-]+$`)

// validateInputs is rest_utils.validate_inputs.
func validateInputs(name, v string) *apiError {
	prefix := fmt.Sprintf("The `%s` argument", name)
	switch {
	case v == "":
		return badParams("%s is empty", prefix)
	case len(v) > 256:
		return badParams("%s is too long. Maximum allowed length is 256 characters", prefix)
	case !idChars.MatchString(v):
		return badParams("%s contains illegal characters. Only letters, digits and the characters \"-\", \".\" and \"_\" are allowed", prefix)
	case !isASCIILetter(v[0]):
		return badParams("%s must begin with a letter", prefix)
	}
	return nil
}

func isASCIILetter(b byte) bool { return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' }

func (c *call) allTenants() bool {
	b, e := convertBool("all_tenants", c.query.Get("_all_tenants"))
	return e == nil && b
}

func hSnapshotsList(c *call) *response {
	tenants := c.tenantsFor(c.allTenants())
	var items []map[string]any
	for _, sn := range c.s.st.snapshots {
		if tenants[sn.tenant] {
			items = append(items, sn.json())
		}
	}
	return listResp(c, items, (&snapshot{}).json())
}

func (c *call) snapshot() (*snapshot, *apiError) {
	sn := c.s.st.snapshot(c.tenant, c.args[0])
	if sn == nil {
		return nil, notFound("Snapshot", c.args[0])
	}
	return sn, nil
}

func hSnapshotGet(c *call) *response {
	sn, e := c.snapshot()
	if e != nil {
		return errResp(e)
	}
	return getOne(c, sn.json())
}

func hSnapshotCreate(c *call) *response {
	id := c.args[0]
	if e := validateInputs("snapshot_id", id); e != nil {
		return errResp(e)
	}
	m, e := c.jsonBody()
	if e != nil {
		return errResp(e)
	}
	var incCreds, incLogs, incEvents, queue bool
	for _, f := range []struct {
		name string
		def  bool
		dst  *bool
	}{{"include_credentials", true, &incCreds}, {"include_logs", true, &incLogs}, {"include_events", true, &incEvents}, {"queue", false, &queue}} {
		v, e := boolField(m, f.name, f.def)
		if e != nil {
			return errResp(e)
		}
		*f.dst = v
	}
	st := c.s.st
	if st.snapshot(c.tenant, id) != nil {
		return errResp(errf(http.StatusConflict, "conflict_error",
			"<Snapshot id=`%s` tenant=`%s`> already exists on <Tenant name=`%s`> or with global visibility", id, c.tenant, c.tenant))
	}
	params := map[string]any{
		"snapshot_id": id, "include_credentials": incCreds, "include_logs": incLogs, "include_events": incEvents,
		"config": map[string]any{"created_status": snapCreated, "failed_status": snapFailed, "default_tenant_name": defaultTenant},
	}
	if tmp, ok := m["tempdir_path"].(string); ok {
		params["tempdir_path"] = tmp
	}
	x := c.s.newExecution(c, "create_snapshot", "", params, true)
	if e := c.s.admit(x, c.now, false, queue); e != nil {
		return errResp(e)
	}
	st.snapshots = append(st.snapshots, &snapshot{
		id: id, tenant: c.tenant, status: snapCreating, createdAt: c.now, createdBy: c.user.username, visibility: visibilityPrivate,
	})
	st.executions = append(st.executions, x)
	return jsonResp(http.StatusCreated, x.json(st.deploymentIndex()))
}

func (s *Server) activeSnapshotExecution(tenant, id string) *execution {
	for _, x := range s.st.executions {
		if x.tenant == tenant && (x.workflowID == "create_snapshot" || x.workflowID == "restore_snapshot") &&
			!isEnd(x.status) && fmt.Sprint(x.parameters["snapshot_id"]) == id {
			return x
		}
	}
	return nil
}

func hSnapshotDelete(c *call) *response {
	sn, e := c.snapshot()
	if e != nil {
		return errResp(e)
	}
	if x := c.s.activeSnapshotExecution(c.tenant, sn.id); x != nil {
		return errResp(errf(http.StatusBadRequest, "snapshot_action_error",
			"Cannot delete snapshot `%s`: a `%s` execution for it is still active (%s)", sn.id, x.workflowID, x.id))
	}
	out := c.s.st.snapshots[:0]
	for _, x := range c.s.st.snapshots {
		if x != sn {
			out = append(out, x)
		}
	}
	c.s.st.snapshots = out
	return jsonResp(http.StatusOK, sn.json())
}

func hSnapshotDownload(c *call) *response {
	sn, e := c.snapshot()
	if e != nil {
		return errResp(e)
	}
	if sn.status == snapFailed {
		return errResp(errf(http.StatusBadRequest, "snapshot_action_error", "Failed snapshot cannot be downloaded"))
	}
	if sn.archive == nil {
		// The REST service answers X-Accel-Redirect to a file nginx does not have.
		return nginxPage(http.StatusNotFound)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Description", "File Transfer")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Disposition", fmt.Sprintf("attachment; filename=%s.zip", sn.id))
	return &response{status: http.StatusOK, raw: sn.archive, header: h}
}

func hSnapshotUpload(c *call) *response {
	id := c.args[0]
	if len(c.body) == 0 {
		return errResp(badParams("Missing snapshot_archive_url query parameter or request body"))
	}
	data := append([]byte(nil), c.body...)
	if sn := c.s.st.snapshot(c.tenant, id); sn != nil {
		// Quirk: only the archive is stored; a null Snapshot comes back.
		sn.archive = data
		return jsonResp(http.StatusCreated, nullSnapshotJSON())
	}
	if e := validateInputs("snapshot_id", id); e != nil {
		return errResp(e)
	}
	sn := &snapshot{
		id: id, tenant: c.tenant, status: snapUploaded, createdAt: c.now, createdBy: c.user.username,
		visibility: visibilityPrivate, archive: data,
	}
	c.s.st.snapshots = append(c.s.st.snapshots, sn)
	return jsonResp(http.StatusCreated, sn.json())
}

// fetchArchive downloads ?snapshot_archive_url= (the manager fetches it).
func fetchArchive(raw string) ([]byte, *apiError) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, badParams("Invalid snapshot_archive_url: %s", raw)
	}
	cl := &http.Client{Timeout: 60 * time.Second}
	resp, err := cl.Get(raw)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "param_url_not_found_error", "URL %s not found - %v", raw, err)
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode/100 != 2 {
		return nil, errf(http.StatusBadRequest, "param_url_not_found_error", "URL %s not found - returned code %d", raw, resp.StatusCode)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 8<<30))
	if err != nil {
		return nil, errf(http.StatusBadRequest, "param_url_not_found_error", "URL %s not found - %v", raw, err)
	}
	if len(b) == 0 {
		b = []byte{}
	}
	return b, nil
}

func hSnapshotRestore(c *call) *response {
	m, e := c.jsonBody()
	if e != nil {
		return errResp(e)
	}
	params := map[string]any{}
	if c.s.generation == Generation50 {
		// 4.x-5.1: recreate_deployments_envs is required (removed in 5.2).
		if e := verifyParams(m, paramSpec{name: "recreate_deployments_envs"}); e != nil {
			return errResp(e)
		}
		v, e := convertBool("recreate_deployments_envs", m["recreate_deployments_envs"])
		if e != nil {
			return errResp(e)
		}
		params["recreate_deployments_envs"] = v
	}
	rawForce, ok := m["force"]
	if !ok {
		// request_dict['force'] raises KeyError: an unhandled 500.
		return errResp(errf(http.StatusInternalServerError, "internal_server_error", "'force'"))
	}
	force, e := convertBool("force", rawForce)
	if e != nil {
		return errResp(e)
	}
	restoreCerts, e := boolField(m, "restore_certificates", false)
	if e != nil {
		return errResp(e)
	}
	noReboot, e := boolField(m, "no_reboot", false)
	if e != nil {
		return errResp(e)
	}
	if c.s.generation == Generation50 {
		ipf, e := boolField(m, "ignore_plugin_failure", false)
		if e != nil {
			return errResp(e)
		}
		params["ignore_plugin_failure"] = ipf
	}
	if noReboot && !restoreCerts {
		return errResp(badParams("`no_reboot` is only relevant when `restore_certificates` is activated"))
	}
	timeout := 300
	if v, ok := m["timeout"]; ok {
		n, err := strconv.Atoi(pyRepr(v))
		if err != nil {
			return errResp(badParams("invalid parameter, should be int, got: %s", pyRepr(v)))
		}
		timeout = n
	}
	sn, e := c.snapshot()
	if e != nil {
		return errResp(e)
	}
	if sn.status == snapFailed {
		return errResp(errf(http.StatusBadRequest, "snapshot_action_error", "Failed snapshot cannot be restored"))
	}
	params["snapshot_id"] = sn.id
	params["force"] = force
	params["timeout"] = timeout
	params["restore_certificates"] = restoreCerts
	params["no_reboot"] = noReboot
	params["premium_enabled"] = true
	params["user_is_bootstrap_admin"] = c.user.id == 0
	x := c.s.newExecution(c, "restore_snapshot", "", params, true)
	if x.failWith == "" && !force && len(c.s.st.blueprints) > 0 {
		x.failWith = "Snapshot restoration on a non-empty manager is not permitted. Pass the --force flag to force the restore and delete existing data from the manager"
	}
	if e := c.s.admit(x, c.now, false, false); e != nil {
		return errResp(e)
	}
	c.s.st.executions = append(c.s.st.executions, x)
	return jsonResp(http.StatusOK, x.restoreResponseJSON())
}

func hSnapshotStatus(c *call) *response {
	running := false
	for _, x := range c.s.st.executions {
		if x.workflowID == "restore_snapshot" && x.status == execStarted {
			running = true
		}
	}
	if c.s.generation == Generation50 {
		if running {
			return jsonResp(http.StatusOK, map[string]any{"status": restoreStatus50Running})
		}
		return jsonResp(http.StatusOK, map[string]any{"status": restoreStatus50Not})
	}
	if running {
		return jsonResp(http.StatusOK, map[string]any{"status": restoreFlagStatusRun})
	}
	return jsonResp(http.StatusOK, map[string]any{"status": restoreFlagStatusNot})
}

// ---- maintenance mode (resources_v2_1/maintenance_mode.py) ----

func hMaintenanceGet(c *call) *response {
	m := c.s.st.maint
	if m == nil {
		return jsonResp(http.StatusOK, map[string]any{
			"status": maintDeactivated, "activated_at": "", "remaining_executions": nil,
			"requested_by": "", "activation_requested_at": "",
		})
	}
	out := map[string]any{
		"status": m.status, "activated_at": tsOrNil(m.activatedAt), "activation_requested_at": ts(m.requestedAt),
		"requested_by": m.requestedBy, "remaining_executions": nil,
	}
	if m.status == maintActivating {
		out["remaining_executions"] = c.s.runningExecutions()
	}
	return jsonResp(http.StatusOK, out)
}

func hMaintenanceAction(c *call) *response {
	st := c.s.st
	switch c.args[0] {
	case "activate":
		if st.maint != nil {
			return &response{status: http.StatusNotModified}
		}
		remaining := c.s.runningExecutions()
		m := &maintenance{status: maintActivated, activatedAt: c.now, requestedAt: c.now, requestedBy: c.user.username}
		if len(remaining) > 0 {
			m.status = maintActivating
			m.activatedAt = time.Time{}
		}
		st.maint = m
		return jsonResp(http.StatusOK, map[string]any{
			"status": m.status, "activated_at": tsOrNil(m.activatedAt), "activation_requested_at": ts(m.requestedAt),
			"requested_by": m.requestedBy,
			// Quirk: `state['remaining_executions'] = remaining_executions,`
			// makes it a list containing the list.
			"remaining_executions": []any{remaining},
		})
	case "deactivate":
		if st.maint == nil {
			return &response{status: http.StatusNotModified}
		}
		m := st.maint
		st.maint = nil
		c.s.startQueued(c.now)
		return jsonResp(http.StatusOK, map[string]any{
			"status": maintDeactivated, "activated_at": tsOrNil(m.activatedAt), "activation_requested_at": ts(m.requestedAt),
			"requested_by": m.requestedBy, "remaining_executions": nil,
		})
	}
	return errResp(badParams("Invalid action: %s, Valid action values are: ['activate', 'deactivate']", c.args[0]))
}

// ---- executions (resources_v1/executions.py, resource_manager.py) ----

func (c *call) visibleExecution(id string) *execution {
	x := c.s.st.execution(id)
	if x == nil || !c.tenantsFor(false)[x.tenant] {
		return nil
	}
	return x
}

func hExecutionsList(c *call) *response {
	includeSystem := false
	for _, name := range []string{"_include_system_workflows", "include_system_workflows"} {
		if v := c.query.Get(name); v != "" {
			b, e := convertBool(strings.TrimPrefix(name, "_"), v)
			if e != nil {
				return errResp(e)
			}
			includeSystem = b
		}
	}
	_, systemFilter := c.query["is_system_workflow"]
	tenants := c.tenantsFor(c.allTenants())
	deps := c.s.st.deploymentIndex()
	var items []map[string]any
	for _, x := range c.s.st.executions {
		if !tenants[x.tenant] || (x.isSystem && !includeSystem && !systemFilter) {
			continue
		}
		items = append(items, x.json(deps))
	}
	return listResp(c, items, (&execution{}).json(nil))
}

func hExecutionGet(c *call) *response {
	x := c.visibleExecution(c.args[0])
	if x == nil {
		return errResp(notFound("Execution", c.args[0]))
	}
	return getOne(c, x.json(c.s.st.deploymentIndex()))
}

var scheduledLayout = "200601021504-0700"

func parseScheduledTime(v string) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, v); err == nil {
		return t.UTC(), true
	}
	if t, err := time.Parse(scheduledLayout, v); err == nil {
		return t.UTC(), true
	}
	return time.Time{}, false
}

func hExecutionStart(c *call) *response {
	m, e := c.jsonBody()
	if e != nil {
		return errResp(e)
	}
	if e := verifyParams(m, paramSpec{name: "deployment_id", typ: "str"}, paramSpec{name: "workflow_id", typ: "str"}); e != nil {
		return errResp(e)
	}
	var allowCustom, force, dryRun, queue bool
	for _, f := range []struct {
		name string
		dst  *bool
	}{{"allow_custom_parameters", &allowCustom}, {"force", &force}, {"dry_run", &dryRun}, {"queue", &queue}} {
		v, e := boolField(m, f.name, false)
		if e != nil {
			return errResp(e)
		}
		*f.dst = v
	}
	depID, _ := m["deployment_id"].(string)
	wf, _ := m["workflow_id"].(string)
	var scheduled time.Time
	if v, ok := m["scheduled_time"]; ok && v != nil {
		str, _ := v.(string)
		t, ok := parseScheduledTime(str)
		if !ok {
			return errResp(badParams("Date `%s` missing timezone information, please provide valid date. \nExpected format: YYYYMMDDHHMM+HHMM or YYYYMMDDHHMM-HHMM i.e: 201801012230-0500 (Jan-01-18 10:30pm EST)", pyRepr(v)))
		}
		if !t.After(c.now) {
			return errResp(badParams("Date `%s` has already passed, please provide valid date. \nExpected format: YYYYMMDDHHMM+HHMM or YYYYMMDDHHMM-HHMM i.e: 201801012230-0500 (Jan-01-18 10:30pm EST)", str))
		}
		scheduled = t
	}
	var params map[string]any
	if v, ok := m["parameters"]; ok && v != nil {
		p, ok := v.(map[string]any)
		if !ok {
			return errResp(badParams("request body's 'parameters' field must be a dict but is of type %s", pyType(v)))
		}
		params = p
	}
	d := c.s.st.deployment(c.tenant, depID)
	if d == nil {
		return errResp(notFound("Deployment", depID))
	}
	if !contains(d.workflows, wf) {
		return errResp(errf(http.StatusBadRequest, "nonexistent_workflow_error", "Workflow %s does not exist in deployment %s", wf, depID))
	}
	merged := map[string]any{}
	if wf == "install_new_agents" {
		var unknown []string
		for k := range params {
			if _, ok := installNewAgentsParams[k]; !ok {
				unknown = append(unknown, k)
			}
		}
		sort.Strings(unknown)
		if len(unknown) > 0 && !allowCustom {
			return errResp(errf(http.StatusBadRequest, "illegal_execution_parameters_error",
				"Workflow \"%s\" does not have the following parameters declared: %s. Remove these parameters or use the flag for allowing custom parameters",
				wf, strings.Join(unknown, ",")))
		}
		for k, v := range installNewAgentsParams {
			merged[k] = v
		}
	}
	for k, v := range params {
		merged[k] = v
	}
	x := c.s.newExecution(c, wf, depID, merged, false)
	x.isDryRun, x.allowCustom = dryRun, allowCustom
	if !scheduled.IsZero() {
		x.status = execScheduled
		x.scheduledFor = scheduled
		c.s.st.executions = append(c.s.st.executions, x)
		return jsonResp(http.StatusCreated, x.json(c.s.st.deploymentIndex()))
	}
	if e := c.s.admit(x, c.now, force, queue); e != nil {
		return errResp(e)
	}
	c.s.st.executions = append(c.s.st.executions, x)
	return jsonResp(http.StatusCreated, x.json(c.s.st.deploymentIndex()))
}

func hExecutionAction(c *call) *response {
	m, e := c.jsonBody()
	if e != nil {
		return errResp(e)
	}
	if e := verifyParams(m, paramSpec{name: "action"}); e != nil {
		return errResp(e)
	}
	action := pyRepr(m["action"])
	valid := []string{"cancel", "force-cancel", "kill", "resume", "force-resume", "requeue"}
	if !contains(valid, action) {
		return errResp(badParams("Invalid action: %s, Valid action values are: ['cancel', 'force-cancel', 'kill', 'resume', 'force-resume', 'requeue']", action))
	}
	x := c.visibleExecution(c.args[0])
	if x == nil {
		if action == "cancel" || action == "force-cancel" || action == "kill" {
			// cancel_execution looks executions up by a list of ids.
			return errResp(errf(http.StatusNotFound, "not_found_error", "Requested `Execution` ['%s'] was not found", c.args[0]))
		}
		return errResp(notFound("Execution", c.args[0]))
	}
	deps := c.s.st.deploymentIndex()
	switch action {
	case "resume", "force-resume":
		forced := action == "force-resume"
		switch {
		case x.status == execCancelled || x.status == execFailed:
		case forced:
			return errResp(errf(http.StatusConflict, "conflict_error", "Cannot force-resume execution: `%s` in state: `%s`", x.id, x.status))
		case x.status != execStarted:
			return errResp(errf(http.StatusConflict, "conflict_error", "Cannot resume execution: `%s` in state: `%s`", x.id, x.status))
		}
		x.status = execPending
		x.endedAt = time.Time{}
		x.resume = true
		x.failWith = c.s.failureFor(x.workflowID)
		x.nextAt = c.now.Add(c.s.timing.Start)
		return jsonResp(http.StatusOK, x.json(deps))
	case "requeue":
		return errResp(errf(http.StatusBadRequest, "illegal_action_error", "requeue is not simulated"))
	}
	kill := action == "kill"
	force := action == "force-cancel" || kill
	newStatus := execCancelling
	switch {
	case kill:
		newStatus = execKillCancelling
	case force:
		newStatus = execForceCancelling
	}
	if x.status == execQueued || x.status == execScheduled {
		kill, force = true, true // a waiting execution is always killed
	}
	allowed := kill || (force && x.status == execCancelling) ||
		x.status == execPending || x.status == execStarted || x.status == execScheduled
	if !allowed {
		prefix := ""
		if force {
			prefix = "force-"
		}
		return errResp(errf(http.StatusBadRequest, "illegal_action_error", "Can't %scancel execution %s because it's in status %s", prefix, x.id, x.status))
	}
	if x.workflowID == "restore_snapshot" {
		c.s.lc.stopTimers()
	}
	x.status = newStatus
	x.errMsg = ""
	x.restarting = false
	x.nextAt = c.now.Add(c.s.timing.Cancel)
	return jsonResp(http.StatusOK, x.json(deps))
}

// ---- events (resources_v1/events.py, resources_v2/events.py) ----

func likeToRegexp(p string) *regexp.Regexp {
	var sb strings.Builder
	sb.WriteString("(?is)^")
	for _, r := range p {
		switch r {
		case '%':
			sb.WriteString(".*")
		case '_':
			sb.WriteString(".")
		default:
			sb.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	sb.WriteString("$")
	return regexp.MustCompile(sb.String())
}

func hEvents(c *call) *response {
	q := c.query
	tenants := c.tenantsFor(c.allTenants())
	types := q["type"]
	var from, to time.Time
	if r := q.Get("_range"); r != "" {
		parts := strings.Split(r, ",")
		if len(parts) != 3 || (parts[0] != "@timestamp" && parts[0] != "timestamp") {
			return errResp(badParams("Invalid _range: %s", r))
		}
		for i, p := range parts[1:] {
			if p == "" {
				continue
			}
			t, err := time.Parse(time.RFC3339Nano, p)
			if err != nil {
				return errResp(badParams("Invalid _range: %s", r))
			}
			if i == 0 {
				from = t
			} else {
				to = t
			}
		}
	}
	var msgRe []*regexp.Regexp
	for _, k := range []string{"message", "message.text"} {
		for _, v := range q[k] {
			msgRe = append(msgRe, likeToRegexp(v))
		}
	}
	in := func(key, v string) bool {
		vs := q[key]
		return len(vs) == 0 || contains(vs, v)
	}
	var items []map[string]any
	for _, ev := range c.s.st.events {
		if !tenants[ev.tenant] || !in("execution_id", ev.execID) || !in("deployment_id", ev.deployment) ||
			!in("blueprint_id", ev.blueprint) || !in("workflow_id", ev.workflowID) {
			continue
		}
		if len(types) > 0 && !contains(types, ev.typ) {
			continue
		}
		if len(q["event_type"]) > 0 && (ev.typ != "cloudify_event" || !contains(q["event_type"], ev.eventType)) {
			continue
		}
		if len(q["level"]) > 0 && (ev.typ != "cloudify_log" || !contains(q["level"], ev.level)) {
			continue
		}
		if (!from.IsZero() && ev.ts.Before(from)) || (!to.IsZero() && ev.ts.After(to)) {
			continue
		}
		if len(msgRe) > 0 {
			ok := false
			for _, re := range msgRe {
				ok = ok || re.MatchString(ev.message)
			}
			if !ok {
				continue
			}
		}
		items = append(items, ev.json())
	}
	// The sort field is "@timestamp" or "timestamp"; both sort by timestamp.
	lq := url.Values{}
	for k, v := range q {
		switch k {
		case "_sort":
			for _, s := range v {
				lq.Add(k, strings.Replace(s, "@timestamp", "timestamp", 1))
			}
		case "_include", "_size", "_offset", "_get_all_results":
			lq[k] = v
		}
	}
	proto := (&event{typ: "cloudify_event"}).json()
	proto["logger"], proto["level"] = nil, nil
	cc := *c
	cc.query = lq
	return listResp(&cc, items, proto)
}

// ---- blueprints, deployments, plugins ----

func hBlueprintsList(c *call) *response {
	tenants := c.tenantsFor(c.allTenants())
	var items []map[string]any
	for _, b := range c.s.st.blueprints {
		if tenants[b.tenant] {
			items = append(items, b.json())
		}
	}
	return listResp(c, items, (&blueprint{}).json())
}

func hBlueprintGet(c *call) *response {
	b := c.s.st.blueprint(c.tenant, c.args[0])
	if b == nil {
		return errResp(notFound("Blueprint", c.args[0]))
	}
	return getOne(c, b.json())
}

func (s *Server) latestExecution(d *deployment) *execution {
	var latest *execution
	for _, x := range s.st.executions {
		if x.tenant == d.tenant && x.deploymentID == d.id && (latest == nil || !x.createdAt.Before(latest.createdAt)) {
			latest = x
		}
	}
	return latest
}

func hDeploymentsList(c *call) *response {
	tenants := c.tenantsFor(c.allTenants())
	var items []map[string]any
	for _, d := range c.s.st.deployments {
		if tenants[d.tenant] {
			items = append(items, d.json(c.s.latestExecution(d)))
		}
	}
	return listResp(c, items, (&deployment{}).json(nil))
}

func hDeploymentGet(c *call) *response {
	d := c.s.st.deployment(c.tenant, c.args[0])
	if d == nil {
		return errResp(notFound("Deployment", c.args[0]))
	}
	return getOne(c, d.json(c.s.latestExecution(d)))
}

func hPluginsList(c *call) *response {
	tenants := c.tenantsFor(c.allTenants())
	var items []map[string]any
	for _, p := range c.s.st.plugins {
		if tenants[p.tenant] {
			items = append(items, p.json())
		}
	}
	return listResp(c, items, (&plugin{}).json())
}

func hPluginGet(c *call) *response {
	for _, p := range c.s.st.plugins {
		if p.id == c.args[0] && p.tenant == c.tenant {
			return getOne(c, p.json())
		}
	}
	return errResp(notFound("Plugin", c.args[0]))
}

// ---- plugins updates (resources_v3_1/plugins.py PluginsUpdate) ----

func hPluginsUpdatesList(c *call) *response {
	tenants := c.tenantsFor(c.allTenants())
	var items []map[string]any
	for _, u := range c.s.st.pluginsUpdates {
		if tenants[u.tenant] {
			items = append(items, u.json())
		}
	}
	return listResp(c, items, (&pluginsUpdate{}).json())
}

func (c *call) pluginsUpdate(id string) *pluginsUpdate {
	for _, u := range c.s.st.pluginsUpdates {
		if u.id == id && u.tenant == c.tenant {
			return u
		}
	}
	return nil
}

func hPluginsUpdateGet(c *call) *response {
	u := c.pluginsUpdate(c.args[0])
	if u == nil {
		return errResp(notFound("PluginsUpdate", c.args[0]))
	}
	return getOne(c, u.json())
}

// flaskBoolean is flask_restful.inputs.boolean (the 5.0.5 query argument).
func flaskBoolean(name, v string) (bool, *apiError) {
	switch strings.ToLower(v) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, badParams("%s: Invalid literal for boolean(): %s", name, v)
}

func hPluginsUpdateAction(c *call) *response {
	bpID, phase := c.args[0], c.args[1]
	if phase != "initiate" && phase != "finalize" {
		return errResp(badParams("Invalid phase: %s, Valid phases are: ['initiate', 'finalize']", phase))
	}
	args := map[string]any{}
	if c.s.generation == Generation50 {
		if v := c.query.Get("force"); v != "" {
			b, e := flaskBoolean("force", v)
			if e != nil {
				return errResp(e)
			}
			args["force"] = b
		}
	} else {
		m, e := c.jsonBody()
		switch {
		case e != nil && e.status == http.StatusUnsupportedMediaType:
			return errResp(e)
		case e == nil:
			args = m
		}
		specs := []paramSpec{
			{name: "plugin_names", typ: "list", optional: true}, {name: "all_to_latest", typ: "bool", optional: true},
			{name: "to_latest", typ: "list", optional: true}, {name: "all_to_minor", typ: "bool", optional: true},
			{name: "to_minor", typ: "list", optional: true}, {name: "mapping", typ: "dict", optional: true},
			{name: "force", typ: "bool", optional: true}, {name: "auto_correct_types", typ: "bool", optional: true},
			{name: "reevaluate_active_statuses", typ: "bool", optional: true}, {name: "all_tenants", typ: "bool", optional: true},
		}
		if e := verifyParams(args, specs...); e != nil {
			return errResp(e)
		}
	}
	if phase == "finalize" {
		u := c.pluginsUpdate(bpID)
		if u == nil {
			return errResp(notFound("PluginsUpdate", bpID))
		}
		return jsonResp(http.StatusOK, u.json())
	}
	st := c.s.st
	bp := st.blueprint(c.tenant, bpID)
	if bp == nil {
		return errResp(notFound("Blueprint", bpID))
	}
	allTenants, _ := args["all_tenants"].(bool)
	forced, _ := args["force"].(bool)
	var names []string
	if l, ok := args["plugin_names"].([]any); ok {
		for _, n := range l {
			names = append(names, pyRepr(n))
		}
	}
	var deps []string
	for _, d := range st.deployments {
		if d.blueprintID == bp.id && (d.tenant == c.tenant || allTenants) {
			deps = append(deps, d.id)
		}
	}
	var targets []PluginRef
	for _, used := range bp.plugins {
		if len(names) > 0 && !contains(names, used.PackageName) {
			continue
		}
		best := used.PackageVersion
		for _, p := range st.plugins {
			if p.packageName == used.PackageName && (p.tenant == c.tenant || allTenants) && newerVersion(p.packageVersion, best) {
				best = p.packageVersion
			}
		}
		if best != used.PackageVersion {
			targets = append(targets, PluginRef{PackageName: used.PackageName, PackageVersion: best})
		}
	}
	u := &pluginsUpdate{
		id: c.s.newID(), tenant: c.tenant, blueprintID: bp.id, deploymentsToUpdate: deps, forced: forced,
		allTenants: allTenants, createdAt: c.now, createdBy: c.user.username, targets: targets,
	}
	params := map[string]any{
		"update_id": u.id, "deployments_to_update": deps, "temp_blueprint_id": nil, "force": forced,
		"auto_correct_types": args["auto_correct_types"] == true, "reevaluate_active_statuses": args["reevaluate_active_statuses"] == true,
	}
	x := c.s.newExecution(c, "update_plugin", "", params, true)
	if len(deps) == 0 || len(targets) == 0 {
		// update_plugins(no_changes_required=True): a fake, terminated execution.
		u.state = puNoChangesRequired
		x.status = execTerminated
		x.startedAt, x.endedAt = c.now, c.now
		x.failWith = ""
	} else {
		u.state = puExecutingWorkflow
		x.status = execPending
		x.nextAt = c.now.Add(c.s.timing.Start) // allow_overlapping_running_wf=True
	}
	u.executionID = x.id
	st.executions = append(st.executions, x)
	st.pluginsUpdates = append(st.pluginsUpdates, u)
	return jsonResp(http.StatusOK, u.json())
}

// ---- cluster status and managers (cluster_status.py, manager.py) ----

func hClusterStatus(c *call) *response {
	summary := false
	if v := c.query.Get("summary"); v != "" {
		b, e := convertBool("summary", v)
		if e != nil {
			return errResp(e)
		}
		summary = b
	}
	st := c.s.st
	ok, total := 0, len(st.managers)
	nodes := map[string]any{}
	for _, n := range st.managers {
		healthy := n.status == statusOK
		if healthy {
			ok++
		}
		nodes[n.hostname] = map[string]any{
			"status": n.status, "version": n.version, "public_ip": strOrNil(n.publicIP), "private_ip": n.privateIP,
			"node_id": fmt.Sprintf("node-%d", n.id), "services": c.s.nodeServices(healthy),
		}
	}
	overall := statusOK
	switch {
	case ok == 0:
		overall = statusFail
	case ok < total:
		overall = statusDegraded
	}
	code := http.StatusOK
	if summary {
		if overall == statusFail {
			code = http.StatusInternalServerError
		}
		return jsonResp(code, map[string]any{"status": overall, "services": map[string]any{}})
	}
	services := map[string]any{}
	for _, name := range []string{"manager", "db", "broker"} {
		services[name] = map[string]any{"status": overall, "is_external": false, "nodes": nodes}
	}
	return jsonResp(code, map[string]any{"status": overall, "services": services})
}

func hManagersList(c *call) *response {
	var items []map[string]any
	for _, n := range c.s.st.managers {
		items = append(items, n.json())
	}
	return listResp(c, items, (&managerNode{}).json())
}

func hManagerGet(c *call) *response {
	for _, n := range c.s.st.managers {
		if n.hostname == c.args[0] {
			return getOne(c, n.json())
		}
	}
	return errResp(notFound("Manager", c.args[0]))
}
