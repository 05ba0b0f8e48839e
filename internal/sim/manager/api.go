package manager

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/sim/simfault"
)

const apiPrefix = "/api/v3.1/"

// apiError is a ManagerException (manager_rest/manager_exceptions.py): it
// answers {"message", "error_code", "server_traceback": null}.
type apiError struct {
	status  int
	code    string
	message string
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func badParams(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "bad_parameters_error", format, args...)
}

func notFound(model, id string) *apiError {
	return errf(http.StatusNotFound, "not_found_error", "Requested `%s` with ID `%s` was not found", model, id)
}

func unauthorized(extra string) *apiError {
	return errf(http.StatusUnauthorized, "unauthorized_error", "User unauthorized: %s", extra)
}

func forbidden(format string, args ...any) *apiError {
	return errf(http.StatusForbidden, "forbidden_error", format, args...)
}

// response is what a handler computed under the lock; it is written after.
type response struct {
	status int
	body   any    // JSON
	raw    []byte // written verbatim when set
	header http.Header
}

func jsonResp(status int, body any) *response { return &response{status: status, body: body} }

func errResp(e *apiError) *response {
	return &response{status: e.status, body: errorBody{Message: e.message, ErrorCode: e.code}}
}

type errorBody struct {
	Message         string  `json:"message"`
	ErrorCode       string  `json:"error_code"`
	ServerTraceback *string `json:"server_traceback"`
}

// nginxPage is the HTML nginx answers when the REST service behind it is
// down (502) or a file is missing (404).
func nginxPage(status int) *response {
	text := fmt.Sprintf("%d %s", status, http.StatusText(status))
	body := "<html>\r\n<head><title>" + text + "</title></head>\r\n<body>\r\n<center><h1>" + text +
		"</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
	h := http.Header{}
	h.Set("Content-Type", "text/html")
	return &response{status: status, raw: []byte(body), header: h}
}

// call is one API request being handled.
type call struct {
	s      *Server
	r      *http.Request
	body   []byte
	now    time.Time
	user   *user
	tenant string
	args   []string // the route's wildcard segments
	query  url.Values
}

type handlerFunc func(c *call) *response

// endpoint is one method of a route.
type endpoint struct {
	h      handlerFunc
	action string // authorization action (authorization.conf)
	admin  bool   // only sys_admin may call it
	noAuth bool
}

type route struct {
	pattern []string // "*" matches one segment
	methods map[string]endpoint
}

func (s *Server) routes() []route {
	get := func(h handlerFunc, action string) map[string]endpoint {
		return map[string]endpoint{http.MethodGet: {h: h, action: action}}
	}
	return []route{
		{[]string{"ok"}, map[string]endpoint{http.MethodGet: {h: hOK, noAuth: true}}},
		{[]string{"status"}, get(hStatus, "status_get")},
		{[]string{"version"}, get(hVersion, "version_get")},
		{[]string{"tokens"}, map[string]endpoint{
			http.MethodGet:  {h: hTokensGet, action: "user_token"},
			http.MethodPost: {h: hTokensPost, action: "create_token"},
		}},
		{[]string{"tokens", "*"}, map[string]endpoint{
			http.MethodGet:    {h: hTokenGet, action: "list_token"},
			http.MethodDelete: {h: hTokenDelete, action: "delete_token"},
		}},
		{[]string{"snapshots"}, map[string]endpoint{http.MethodGet: {h: hSnapshotsList, action: "snapshot_list", admin: true}}},
		{[]string{"snapshots", "*"}, map[string]endpoint{
			http.MethodGet:    {h: hSnapshotGet, action: "snapshot_get", admin: true},
			http.MethodPut:    {h: hSnapshotCreate, action: "snapshot_create", admin: true},
			http.MethodDelete: {h: hSnapshotDelete, action: "snapshot_delete", admin: true},
		}},
		{[]string{"snapshots", "*", "archive"}, map[string]endpoint{
			http.MethodGet: {h: hSnapshotDownload, action: "snapshot_download", admin: true},
			http.MethodPut: {h: hSnapshotUpload, action: "snapshot_upload", admin: true},
		}},
		{[]string{"snapshots", "*", "restore"}, map[string]endpoint{http.MethodPost: {h: hSnapshotRestore, action: "snapshot_restore", admin: true}}},
		{[]string{"snapshot-status"}, map[string]endpoint{http.MethodGet: {h: hSnapshotStatus, noAuth: true}}},
		{[]string{"maintenance"}, get(hMaintenanceGet, "maintenance_mode_get")},
		{[]string{"maintenance", "*"}, map[string]endpoint{http.MethodPost: {h: hMaintenanceAction, action: "maintenance_mode_set", admin: true}}},
		{[]string{"executions"}, map[string]endpoint{
			http.MethodGet:  {h: hExecutionsList, action: "execution_list"},
			http.MethodPost: {h: hExecutionStart, action: "execution_start"},
		}},
		{[]string{"executions", "*"}, map[string]endpoint{
			http.MethodGet:  {h: hExecutionGet, action: "execution_get"},
			http.MethodPost: {h: hExecutionAction, action: "execution_cancel"},
		}},
		{[]string{"events"}, get(hEvents, "event_list")},
		{[]string{"blueprints"}, get(hBlueprintsList, "blueprint_list")},
		{[]string{"blueprints", "*"}, get(hBlueprintGet, "blueprint_get")},
		{[]string{"deployments"}, get(hDeploymentsList, "deployment_list")},
		{[]string{"deployments", "*"}, get(hDeploymentGet, "deployment_get")},
		{[]string{"plugins"}, get(hPluginsList, "plugin_list")},
		{[]string{"plugins", "*"}, get(hPluginGet, "plugin_get")},
		{[]string{"plugins-updates"}, get(hPluginsUpdatesList, "plugins_update_list")},
		{[]string{"plugins-updates", "*"}, get(hPluginsUpdateGet, "plugins_update_get")},
		{[]string{"plugins-updates", "*", "update", "*"}, map[string]endpoint{http.MethodPost: {h: hPluginsUpdateAction, action: "plugins_update_create"}}},
		{[]string{"cluster-status"}, get(hClusterStatus, "cluster_status_get")},
		{[]string{"managers"}, get(hManagersList, "manager_get")},
		{[]string{"managers", "*"}, get(hManagerGet, "manager_get")},
	}
}

func matchRoute(routes []route, segs []string) (*route, []string) {
	for i := range routes {
		rt := &routes[i]
		if len(rt.pattern) != len(segs) {
			continue
		}
		var args []string
		ok := true
		for j, p := range rt.pattern {
			if p == "*" {
				if segs[j] == "" {
					ok = false
					break
				}
				args = append(args, segs[j])
			} else if p != segs[j] {
				ok = false
				break
			}
		}
		if ok {
			return rt, args
		}
	}
	return nil, nil
}

// ServeHTTP answers the API (/api/v3.1/...) and the control endpoints
// (/_sim/...).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sim" || strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	rec := &simfault.Recorder{ResponseWriter: w}
	entry := RequestRecord{
		Method: r.Method, Path: r.URL.Path, Query: simfault.RedactQuery(r.URL.Query()),
		Time: s.clock.Now().UTC(), Auth: authKind(r),
	}
	defer func() {
		entry.Status = rec.Status
		entry.Dropped = rec.Dropped
		if rec.Dropped {
			entry.Status = 0
		}
		s.log.Add(entry)
	}()

	// A manager restarting at the end of a restore answers nothing.
	if s.restarting() {
		entry.Fault = "restarting"
		s.unreachable(rec)
		return
	}
	if f := s.currentPicker().Pick(r); f != nil {
		entry.Fault = f.Kind
		if f.Latency > 0 {
			time.Sleep(f.Latency)
		}
		switch f.Kind {
		case "drop":
			rec.Drop()
			return
		case "error":
			s.write(rec, r, faultResponse(f.Status))
			return
		}
	}
	resp := s.handle(r)
	if resp == nil { // restarting, noticed under the lock
		entry.Fault = "restarting"
		s.unreachable(rec)
		return
	}
	s.write(rec, r, resp)
}

func (s *Server) unreachable(rec *simfault.Recorder) {
	if s.opts.RestartMode == RestartRefuse && s.lc.started() {
		rec.Drop()
		return
	}
	s.write(rec, nil, nginxPage(http.StatusBadGateway))
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, resp *response) {
	for k, vs := range resp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	if resp.status == http.StatusNotModified || resp.status == http.StatusNoContent {
		w.WriteHeader(resp.status)
		return
	}
	var b []byte
	if resp.raw != nil {
		b = resp.raw
	} else {
		var err error
		b, err = json.Marshal(resp.body)
		if err != nil {
			b = []byte(`{"message":"cannot encode response","error_code":"internal_server_error","server_traceback":null}`)
			resp.status = http.StatusInternalServerError
		}
		b = append(b, '\n')
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(resp.status)
	if r != nil && r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}

// restarting reports whether the manager is inside a restore's restart
// window now.
func (s *Server) restarting() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now()
	s.advance(now)
	return s.restorePhase(now) == phaseRestarting
}

const maxJSONBody = 16 << 20

// handle routes and answers one API request. It returns nil when the
// manager turned out to be restarting.
func (s *Server) handle(r *http.Request) *response {
	path := r.URL.Path
	var rest string
	switch {
	case strings.HasPrefix(path, apiPrefix):
		rest = strings.TrimPrefix(path, apiPrefix)
	case path == "/api/version":
		rest = "version"
	default:
		return errResp(errf(http.StatusNotFound, "not_found_error",
			"The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."))
	}
	segs := strings.Split(strings.TrimSuffix(rest, "/"), "/")
	rt, args := matchRoute(s.routes(), segs)
	if rt == nil {
		return errResp(errf(http.StatusNotFound, "not_found_error",
			"The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again."))
	}
	method := r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	ep, ok := rt.methods[method]
	if !ok {
		return errResp(errf(http.StatusMethodNotAllowed, "method_not_allowed_error", "The method is not allowed for the requested URL."))
	}

	// Read the body before taking the lock (uploads may be large).
	limit := int64(maxJSONBody)
	if len(segs) == 3 && segs[0] == "snapshots" && segs[2] == "archive" {
		limit = 8 << 30
	}
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, limit))
		if err != nil {
			return errResp(badParams("cannot read the request body: %v", err))
		}
		body = b
	}
	// ?snapshot_archive_url= is fetched outside the lock, once the caller
	// has passed the gates (no fetching for anonymous callers).
	archiveURL := ""
	if len(segs) == 3 && segs[0] == "snapshots" && segs[2] == "archive" && method == http.MethodPut {
		archiveURL = r.URL.Query().Get("snapshot_archive_url")
	}
	if archiveURL != "" {
		s.mu.Lock()
		resp, restarting := s.gates(s.newCall(r, body, args), ep, segs, method)
		s.mu.Unlock()
		if resp != nil || restarting {
			return resp
		}
		fetched, fetchErr := fetchArchive(archiveURL)
		if fetchErr != nil {
			return errResp(fetchErr)
		}
		body = fetched
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.newCall(r, body, args)
	if resp, restarting := s.gates(c, ep, segs, method); resp != nil || restarting {
		return resp
	}
	return ep.h(c)
}

// newCall starts handling a request: the world is advanced to now. The
// caller holds s.mu.
func (s *Server) newCall(r *http.Request, body []byte, args []string) *call {
	now := s.clock.Now()
	s.advance(now)
	return &call{s: s, r: r, body: body, now: now, args: args, query: r.URL.Query()}
}

// gates runs, in the manager's order, what stands before a handler: a
// restore in progress, maintenance mode (a Flask before_request hook, so
// before authentication), then authentication and authorization (the
// resource's decorators). It returns the refusal, or restarting when the
// manager is down. The caller holds s.mu.
func (s *Server) gates(c *call, ep endpoint, segs []string, method string) (*response, bool) {
	switch s.restorePhase(c.now) {
	case phaseRestarting:
		return nil, true
	case phaseRestoring:
		if s.restoreGated(segs) {
			// SystemInSnapshotRestoreError() is raised without a message.
			return errResp(errf(http.StatusServiceUnavailable, "in_snapshot_restore_error", "")), false
		}
	}
	if resp := s.maintenanceGate(c, segs, method); resp != nil {
		return resp, false
	}
	if !ep.noAuth {
		if e := s.authorize(c, ep); e != nil {
			return errResp(e), false
		}
	}
	return nil, false
}

const (
	phaseNone       = ""
	phaseRestoring  = "restoring"
	phaseRestarting = "restarting"
)

func (s *Server) restorePhase(now time.Time) string {
	for _, e := range s.st.executions {
		if e.workflowID != "restore_snapshot" || e.status != execStarted {
			continue
		}
		if e.restarting || (!e.restartAt.IsZero() && !now.Before(e.restartAt) && now.Before(e.upAt)) {
			return phaseRestarting
		}
		return phaseRestoring
	}
	return phaseNone
}

func (s *Server) restoreGated(segs []string) bool {
	if s.opts.RestoreGate == RestoreGateClusterStatus {
		return segs[0] == "cluster-status"
	}
	switch segs[0] {
	case "ok", "snapshot-status", "version", "status":
		return false
	}
	return true
}

// Maintenance mode (manager_rest/maintenance.py maintenance_mode_handler).
var allowedMaintenanceEndpoints = []string{
	"brokers", "managers", "db-nodes", "cluster", "config", "status", "version", "license",
	"maintenance", "cluster-status", "file-server-auth", "ok", "snapshots", "snapshot-status",
}

func (s *Server) maintenanceGate(c *call, segs []string, method string) *response {
	m := s.st.maint
	if m == nil {
		return nil
	}
	if c.r.Header.Get("X-BYPASS-MAINTENANCE") != "" {
		// Only for users allowed maintenance_mode_set.
		if u, e := s.authenticate(c); e == nil && u.isAdmin() {
			return nil
		}
	}
	if m.status == maintActivating {
		if len(s.runningExecutions()) == 0 {
			m.status = maintActivated
			m.activatedAt = c.now
		} else {
			if activatingForbidden(segs, method) {
				return maintenanceError("entering_maintenance_mode")
			}
			return nil
		}
	}
	for _, a := range allowedMaintenanceEndpoints {
		if strings.HasPrefix(segs[0], a) {
			return nil
		}
	}
	if m.status == maintActivated {
		return maintenanceError("maintenance_mode_active")
	}
	return nil
}

func maintenanceError(code string) *response {
	return errResp(errf(http.StatusServiceUnavailable, code,
		"Your request was rejected since Cloudify manager is currently in maintenance mode"))
}

// activatingForbidden is _handle_activating_mode: what a manager draining
// its executions refuses.
func activatingForbidden(segs []string, method string) bool {
	modifying := method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
	switch {
	case len(segs) == 2 && segs[0] == "snapshots":
		return modifying
	case len(segs) == 3 && segs[0] == "snapshots" && segs[2] == "restore":
		return true
	case len(segs) == 1 && segs[0] == "executions":
		return modifying
	case len(segs) == 2 && segs[0] == "deployments":
		return modifying
	case len(segs) >= 1 && segs[0] == "deployment-modifications":
		return modifying
	}
	return false
}

// runningExecutions is maintenance.get_running_executions: every execution
// not in an end state, of every tenant.
func (s *Server) runningExecutions() []map[string]any {
	out := []map[string]any{}
	for _, e := range s.st.executions {
		if !isEnd(e.status) {
			out = append(out, map[string]any{
				"id": e.id, "status": e.status, "deployment_id": strOrNil(e.deploymentID), "workflow_id": e.workflowID,
			})
		}
	}
	return out
}

// authenticate is security/authentication.py with user_handler.py: Basic
// auth first, then Authentication-Token.
func (s *Server) authenticate(c *call) (*user, *apiError) {
	if c.user != nil {
		return c.user, nil
	}
	if username, password, ok := c.r.BasicAuth(); ok {
		u := s.st.users[username]
		if u == nil || u.password != password {
			return nil, unauthorized(fmt.Sprintf("Authentication failed for <User username=`%s`>", username))
		}
		c.user = u
		return u, nil
	}
	tok := c.r.Header.Get("Authentication-Token")
	if tok == "" {
		return nil, unauthorized("No authentication info provided")
	}
	for _, t := range s.st.tokens {
		if t.value != "" && t.value == tok {
			return s.tokenUser(c, t)
		}
	}
	if !strings.HasPrefix(tok, "ctok-") {
		return nil, unauthorized("Authentication token is invalid:\nBadSignature")
	}
	parts := strings.Split(tok, "-")
	if len(parts) != 3 {
		return nil, unauthorized("Invalid token structure")
	}
	for _, t := range s.st.tokens {
		if t.id == parts[1] && t.value == "" {
			if t.secret != parts[2] {
				return nil, unauthorized("Unauthorized")
			}
			return s.tokenUser(c, t)
		}
	}
	return nil, unauthorized("Unauthorized")
}

func (s *Server) tokenUser(c *call, t *token) (*user, *apiError) {
	if !t.expiration.IsZero() && !c.now.Before(t.expiration) {
		return nil, unauthorized("Token is expired")
	}
	u := s.st.users[t.username]
	if u == nil {
		return nil, unauthorized("No authentication info provided")
	}
	t.lastUsed = c.now
	c.user = u
	return u, nil
}

// authorize is security/authorization.py authorize(): the Tenant header
// must name an existing tenant, the user must be active and hold a role
// allowed the action.
func (s *Server) authorize(c *call, ep endpoint) *apiError {
	u, e := s.authenticate(c)
	if e != nil {
		return e
	}
	tenant := c.r.Header.Get("Tenant")
	if tenant == "" {
		tenant = defaultTenant
	}
	if !s.st.tenants[tenant] {
		return forbidden("Authorization failed: Tried to authenticate with invalid tenant name: %s", tenant)
	}
	if !u.active {
		return forbidden("Authorization failed: User `%s` is deactivated", u.username)
	}
	c.tenant = tenant
	if u.isAdmin() {
		return nil
	}
	role, member := u.tenants[tenant]
	allowed := member && !ep.admin
	if allowed && role == "viewer" && ep.action != "" && !strings.HasSuffix(ep.action, "_list") &&
		!strings.HasSuffix(ep.action, "_get") && ep.action != "user_token" {
		allowed = false
	}
	if !allowed {
		return forbidden("User `%s` is not permitted to perform the action %s in the tenant `%s`", u.username, ep.action, tenant)
	}
	return nil
}

// tenantsFor is the tenants a list covers: the request's, or with
// _all_tenants=true every tenant the user may see.
func (c *call) tenantsFor(all bool) map[string]bool {
	out := map[string]bool{c.tenant: true}
	if !all {
		return out
	}
	for t := range c.s.st.tenants {
		if c.user.isAdmin() {
			out[t] = true
		} else if _, ok := c.user.tenants[t]; ok {
			out[t] = true
		}
	}
	return out
}

// jsonBody is rest_utils.get_json_and_verify_params: the content type must
// be exactly application/json, the body a JSON object.
func (c *call) jsonBody() (map[string]any, *apiError) {
	if c.r.Header.Get("Content-Type") != "application/json" {
		return nil, errf(http.StatusUnsupportedMediaType, "unsupported_content_type_error", "Content type must be application/json")
	}
	var m map[string]any
	if len(strings.TrimSpace(string(c.body))) == 0 {
		return nil, badParams("Failed to decode JSON object: the request body is empty")
	}
	if err := json.Unmarshal(c.body, &m); err != nil || m == nil {
		return nil, badParams("Failed to decode JSON object: %v", errString(err, "the body is not a JSON object"))
	}
	return m, nil
}

func errString(err error, def string) string {
	if err == nil {
		return def
	}
	return err.Error()
}

// paramSpec is one entry of get_json_and_verify_params' params dict.
type paramSpec struct {
	name     string
	typ      string // "str", "bool", "list", "dict", "" (any)
	optional bool
}

func verifyParams(m map[string]any, specs ...paramSpec) *apiError {
	for _, p := range specs {
		v, ok := m[p.name]
		if !ok {
			if p.optional {
				continue
			}
			return badParams("Missing %s in json request body", p.name)
		}
		if p.typ != "" && pyType(v) != p.typ {
			return badParams("%s parameter is expected to be of type %s but is of type %s", p.name, p.typ, pyType(v))
		}
	}
	return nil
}

// pyType names a decoded JSON value's Python type.
func pyType(v any) string {
	switch v := v.(type) {
	case nil:
		return "NoneType"
	case bool:
		return "bool"
	case string:
		return "str"
	case float64:
		if v == float64(int64(v)) {
			return "int"
		}
		return "float"
	case []any:
		return "list"
	case map[string]any:
		return "dict"
	}
	return "object"
}

// pyRepr renders a value as Python's str() would in an error message.
func pyRepr(v any) string {
	switch v := v.(type) {
	case nil:
		return "None"
	case bool:
		if v {
			return "True"
		}
		return "False"
	case float64:
		if v == float64(int64(v)) {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	case string:
		return v
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// convertBool is rest_utils.verify_and_convert_bool: a JSON boolean or the
// strings "true"/"false" in any case; anything else (null too) is a 400.
func convertBool(name string, v any) (bool, *apiError) {
	if v == nil {
		return false, badParams("%s must be <true/false>, got None", name)
	}
	switch v := v.(type) {
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(v) {
		case "true":
			return true, nil
		case "false":
			return false, nil
		}
	}
	return false, badParams("%s must be <true/false>, got %s", name, pyRepr(v))
}

// boolField reads an optional boolean body field with its server default.
func boolField(m map[string]any, name string, def bool) (bool, *apiError) {
	v, ok := m[name]
	if !ok {
		return def, nil
	}
	return convertBool(name, v)
}

// listQuery is the standard list parameters (rest_decorators: paginate,
// sortable, create_filters, all_tenants, search, marshal_with's _include).
type listQuery struct {
	include    []string
	sort       []string
	size       int
	offset     int
	all        bool
	search     string
	allTenants bool
	filters    map[string][]string
}

func parseList(q url.Values, fields []string) (*listQuery, *apiError) {
	lq := &listQuery{size: defaultPageSize, filters: map[string][]string{}}
	for _, v := range q["_include"] {
		for _, f := range strings.Split(v, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			if !contains(fields, f) {
				return nil, errf(http.StatusBadRequest, "no_such_include_field_error", "Invalid include field: %s", f)
			}
			lq.include = append(lq.include, f)
		}
	}
	for _, v := range q["_sort"] {
		f := strings.TrimPrefix(strings.TrimPrefix(v, "-"), "+")
		if !contains(fields, f) {
			return nil, badParams("Invalid sort field: %s", v)
		}
		lq.sort = append(lq.sort, v)
	}
	if v := q.Get("_size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, badParams("invalid parameter, should be int, got: %s", v)
		}
		if n < 0 {
			return nil, errf(http.StatusBadRequest, "illegal_action_error", "Invalid pagination size: %d.", n)
		}
		if n > maxResults {
			return nil, errf(http.StatusBadRequest, "illegal_action_error", "Invalid pagination size: %d. Max allowed: %d", n, maxResults)
		}
		lq.size = n
	}
	if v := q.Get("_offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, badParams("invalid parameter, should be int, got: %s", v)
		}
		lq.offset = n
	}
	for _, p := range []struct {
		name string
		dst  *bool
	}{{"_get_all_results", &lq.all}, {"_all_tenants", &lq.allTenants}} {
		if v := q.Get(p.name); v != "" {
			b, e := convertBool(strings.TrimPrefix(p.name, "_"), v)
			if e != nil {
				return nil, e
			}
			*p.dst = b
		}
	}
	lq.search = q.Get("_search")
	for k, vs := range q {
		if strings.HasPrefix(k, "_") || !contains(fields, k) {
			continue
		}
		lq.filters[k] = vs
	}
	return lq, nil
}

// apply filters, searches, sorts, paginates and trims items; it returns the
// list response ({"items", "metadata": {"pagination"}}).
func (lq *listQuery) apply(items []map[string]any) map[string]any {
	var kept []map[string]any
	for _, it := range items {
		if lq.matches(it) {
			kept = append(kept, it)
		}
	}
	for i := len(lq.sort) - 1; i >= 0; i-- {
		key := lq.sort[i]
		desc := strings.HasPrefix(key, "-")
		field := strings.TrimPrefix(strings.TrimPrefix(key, "-"), "+")
		sort.SliceStable(kept, func(a, b int) bool {
			c := compareValues(kept[a][field], kept[b][field])
			if desc {
				return c > 0
			}
			return c < 0
		})
	}
	total := len(kept)
	page := kept
	if !lq.all {
		lo := min(lq.offset, total)
		hi := min(lo+lq.size, total)
		page = kept[lo:hi]
	}
	out := make([]any, 0, len(page))
	for _, it := range page {
		if len(lq.include) == 0 {
			out = append(out, it)
			continue
		}
		trimmed := map[string]any{}
		for _, f := range lq.include {
			trimmed[f] = it[f]
		}
		out = append(out, trimmed)
	}
	return map[string]any{
		"items": out,
		"metadata": map[string]any{"pagination": map[string]any{
			"total": total, "size": lq.size, "offset": lq.offset,
		}},
	}
}

func (lq *listQuery) matches(it map[string]any) bool {
	for k, vs := range lq.filters {
		ok := false
		for _, v := range vs {
			if valueString(it[k]) == v || strings.EqualFold(valueString(it[k]), v) && isBoolString(v) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	if lq.search != "" {
		id, _ := it["id"].(string)
		if !strings.Contains(strings.ToLower(id), strings.ToLower(lq.search)) {
			return false
		}
	}
	return true
}

func isBoolString(v string) bool {
	return strings.EqualFold(v, "true") || strings.EqualFold(v, "false")
}

func valueString(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case int:
		return strconv.Itoa(v)
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

func compareValues(a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return -1
	case b == nil:
		return 1
	}
	if x, ok := a.(int); ok {
		if y, ok := b.(int); ok {
			return x - y
		}
	}
	return strings.Compare(valueString(a), valueString(b))
}

func fieldsOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// getOne answers a single resource honouring _include.
func getOne(c *call, item map[string]any) *response {
	lq, e := parseList(url.Values{"_include": c.query["_include"]}, fieldsOf(item))
	if e != nil {
		return errResp(e)
	}
	if len(lq.include) == 0 {
		return jsonResp(http.StatusOK, item)
	}
	out := map[string]any{}
	for _, f := range lq.include {
		out[f] = item[f]
	}
	return jsonResp(http.StatusOK, out)
}

// listResp answers a list of resources whose fields are those of proto.
func listResp(c *call, items []map[string]any, proto map[string]any) *response {
	lq, e := parseList(c.query, fieldsOf(proto))
	if e != nil {
		return errResp(e)
	}
	return jsonResp(http.StatusOK, lq.apply(items))
}
