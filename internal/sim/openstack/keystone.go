package openstack

import (
	"encoding/base64"
	"net/http"
	"strings"
)

// Keystone v3 (keystone api-ref: identity v3 "Authentication and token
// management" and "Version discovery").

// catalogService is one service in the catalog, with stable ids.
type catalogService struct {
	typ, name, path string
	id              string
	endpointIDs     [3]string // public, internal, admin
}

func (st *state) initCatalog() {
	for _, s := range []struct{ typ, name, path string }{
		{"identity", "keystone", "/v3"},
		{"compute", "nova", computePrefix + "/v2.1"},
		{"network", "neutron", networkPrefix},
		{"image", "glance", imagePrefix},
		{"placement", "placement", placementPrefix},
	} {
		cs := catalogService{typ: s.typ, name: s.name, path: s.path, id: st.hexID()}
		for i := range cs.endpointIDs {
			cs.endpointIDs[i] = st.hexID()
		}
		st.catalog = append(st.catalog, cs)
	}
}

func (c *call) catalogJSON() []any {
	out := []any{}
	for _, cs := range c.st.catalog {
		var eps []any
		for i, iface := range []string{"public", "internal", "admin"} {
			eps = append(eps, map[string]any{
				"id": cs.endpointIDs[i], "interface": iface, "region": c.st.region, "region_id": c.st.region,
				"url": c.base + cs.path,
			})
		}
		out = append(out, map[string]any{"endpoints": eps, "id": cs.id, "type": cs.typ, "name": cs.name})
	}
	return out
}

func (c *call) keystoneVersion() map[string]any {
	return map[string]any{
		"id": "v3.14", "status": "stable", "updated": "2020-04-07T00:00:00Z",
		"links":       []any{map[string]any{"rel": "self", "href": c.base + "/v3/"}},
		"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}},
	}
}

func keystoneNotFound() *response {
	return keystoneError(http.StatusNotFound, "Not Found", "The resource could not be found.")
}

// keystoneValidation is keystone.exception.ValidationError's message.
func keystoneValidation(attribute, target string) *response {
	return keystoneError(http.StatusBadRequest, "Bad Request",
		"Expecting to find %s in %s. The server could not comply with the request since it is either malformed or otherwise incorrect. The client is assumed to be in error.",
		attribute, target)
}

func keystoneUnauthorized() *response {
	return keystoneError(http.StatusUnauthorized, "Unauthorized", "The request you have made requires authentication.")
}

func (c *call) keystone() *response {
	path := c.r.URL.Path
	method := c.r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	switch path {
	case "/", "":
		if method != http.MethodGet {
			return keystoneError(http.StatusMethodNotAllowed, "Method Not Allowed", "The method is not allowed for the requested URL.")
		}
		return jsonResp(http.StatusMultipleChoices, map[string]any{"versions": map[string]any{"values": []any{c.keystoneVersion()}}})
	case "/v3", "/v3/":
		return jsonResp(http.StatusOK, map[string]any{"version": c.keystoneVersion()})
	}
	segs := segments(strings.TrimPrefix(path, "/v3"))
	switch {
	case len(segs) == 2 && segs[0] == "auth" && segs[1] == "tokens":
		switch method {
		case http.MethodPost:
			return c.issueToken()
		case http.MethodGet:
			return c.validateToken()
		case http.MethodDelete:
			if r := c.authenticate(); r != nil {
				return r
			}
			t := c.st.tokens[c.r.Header.Get("X-Subject-Token")]
			if t == nil || t.revoked || !c.now.Before(t.expires) {
				return keystoneError(http.StatusNotFound, "Not Found", "Could not find token: %s.", c.r.Header.Get("X-Subject-Token"))
			}
			t.revoked = true
			return emptyResp(http.StatusNoContent)
		}
		return keystoneError(http.StatusMethodNotAllowed, "Method Not Allowed", "The method is not allowed for the requested URL.")
	case len(segs) == 2 && segs[0] == "auth" && segs[1] == "catalog" && method == http.MethodGet:
		if r := c.authenticate(); r != nil {
			return r
		}
		return jsonResp(http.StatusOK, map[string]any{"catalog": c.catalogJSON(), "links": map[string]any{"self": c.base + path, "previous": nil, "next": nil}})
	case len(segs) == 2 && segs[0] == "auth" && segs[1] == "projects" && method == http.MethodGet:
		if r := c.authenticate(); r != nil {
			return r
		}
		u := c.st.user(c.tok.userID)
		projects := []any{}
		for _, p := range c.st.projects {
			if u.roles[p.id] != "" {
				projects = append(projects, c.projectJSON(p))
			}
		}
		return jsonResp(http.StatusOK, map[string]any{"projects": projects, "links": map[string]any{"self": c.base + path, "previous": nil, "next": nil}})
	}
	return keystoneNotFound()
}

func (c *call) projectJSON(p *project) map[string]any {
	return map[string]any{
		"id": p.id, "name": p.name, "domain_id": p.domainID, "description": p.description, "enabled": true,
		"is_domain": false, "parent_id": p.domainID, "tags": []any{}, "options": map[string]any{},
		"links": map[string]any{"self": c.base + "/v3/projects/" + p.id},
	}
}

// ref is a {id} or {name, domain} reference in an auth request.
type ref struct {
	id, name           string
	domainID, domainNm string
}

func parseRef(v any) (ref, bool) {
	m, ok := v.(map[string]any)
	if !ok {
		return ref{}, false
	}
	var r ref
	r.id, _ = m["id"].(string)
	r.name, _ = m["name"].(string)
	if d, ok := m["domain"].(map[string]any); ok {
		r.domainID, _ = d["id"].(string)
		r.domainNm, _ = d["name"].(string)
	}
	return r, r.id != "" || r.name != ""
}

func (st *state) domainMatches(id string, r ref) bool {
	switch {
	case r.domainID != "":
		return r.domainID == id
	case r.domainNm != "":
		return st.domains[id] == r.domainNm
	}
	return false
}

func (st *state) findUser(r ref) *user {
	for _, u := range st.users {
		if r.id != "" && u.id == r.id {
			return u
		}
		if r.id == "" && u.name == r.name && st.domainMatches(u.domainID, r) {
			return u
		}
	}
	return nil
}

func (st *state) findProject(r ref) *project {
	for _, p := range st.projects {
		if r.id != "" && p.id == r.id {
			return p
		}
		if r.id == "" && p.name == r.name && st.domainMatches(p.domainID, r) {
			return p
		}
	}
	return nil
}

// impliedRoles are the default role implications keystone-manage bootstrap
// creates (admin implies member implies reader); tokens carry them.
func impliedRoles(role string) []string {
	switch role {
	case "admin":
		return []string{"admin", "member", "reader"}
	case "member":
		return []string{"member", "reader"}
	}
	return []string{role}
}

// issueToken is POST /v3/auth/tokens.
func (c *call) issueToken() *response {
	v, ok := c.jsonBody()
	if !ok {
		return keystoneError(http.StatusBadRequest, "Bad Request", "Malformed request body.")
	}
	body, _ := v.(map[string]any)
	auth, ok := body["auth"].(map[string]any)
	if !ok {
		return keystoneValidation("auth", "request body")
	}
	identity, ok := auth["identity"].(map[string]any)
	if !ok {
		return keystoneValidation("identity", "auth")
	}
	rawMethods, ok := identity["methods"].([]any)
	if !ok || len(rawMethods) == 0 {
		return keystoneValidation("methods", "identity")
	}
	var methods []string
	for _, m := range rawMethods {
		s, _ := m.(string)
		methods = append(methods, s)
	}
	var u *user
	var cred *appCred
	var fromToken *token
	for _, m := range methods {
		switch m {
		case "password":
			pw, ok := identity["password"].(map[string]any)
			if !ok {
				return keystoneValidation("password", "identity")
			}
			ur, ok := parseRef(pw["user"])
			if !ok {
				return keystoneValidation("user", "password")
			}
			um, _ := pw["user"].(map[string]any)
			secret, _ := um["password"].(string)
			found := c.st.findUser(ur)
			if found == nil || !found.enabled || found.password != secret {
				return keystoneUnauthorized()
			}
			u = found
		case "token":
			tm, ok := identity["token"].(map[string]any)
			if !ok {
				return keystoneValidation("token", "identity")
			}
			id, _ := tm["id"].(string)
			t := c.st.tokens[id]
			if t == nil || t.revoked || !c.now.Before(t.expires) {
				return keystoneUnauthorized()
			}
			fromToken = t
			u = c.st.user(t.userID)
		case "application_credential":
			ac, ok := identity["application_credential"].(map[string]any)
			if !ok {
				return keystoneValidation("application_credential", "identity")
			}
			id, _ := ac["id"].(string)
			name, _ := ac["name"].(string)
			secret, _ := ac["secret"].(string)
			var ur ref
			if id == "" {
				if ur, ok = parseRef(ac["user"]); !ok {
					return keystoneValidation("user", "application_credential")
				}
			}
			for _, a := range c.st.appCreds {
				if id != "" && a.id == id || id == "" && a.name == name && c.st.findUser(ur) != nil && c.st.findUser(ur).id == a.userID {
					cred = a
					break
				}
			}
			if cred == nil || cred.secret != secret || (!cred.expires.IsZero() && !c.now.Before(cred.expires)) {
				return keystoneUnauthorized()
			}
			u = c.st.user(cred.userID)
		default:
			return keystoneError(http.StatusUnauthorized, "Unauthorized", "Attempted to authenticate with an unsupported method.")
		}
	}
	if u == nil || !u.enabled {
		return keystoneUnauthorized()
	}
	t := &token{
		id: c.s.tokenID(), userID: u.id, methods: methods, issued: c.now, expires: c.now.Add(c.s.ttl),
		auditID: strings.TrimRight(base64.URLEncoding.EncodeToString([]byte(c.s.requestID())[:16]), "="),
	}
	if fromToken != nil {
		if fromToken.expires.Before(t.expires) {
			t.expires = fromToken.expires
		}
		t.appCred = fromToken.appCred
	}
	scope, hasScope := auth["scope"]
	switch {
	case cred != nil:
		if hasScope {
			return keystoneError(http.StatusUnauthorized, "Unauthorized", "Application credentials cannot request a scope.")
		}
		t.projectID, t.roles, t.appCred = cred.projectID, cred.roles, cred
	case hasScope && scope != "unscoped":
		sm, _ := scope.(map[string]any)
		if pv, ok := sm["project"]; ok {
			pr, ok := parseRef(pv)
			if !ok {
				return keystoneValidation("project", "scope")
			}
			p := c.st.findProject(pr)
			if p == nil || u.roles[p.id] == "" {
				return keystoneUnauthorized()
			}
			t.projectID, t.roles = p.id, []string{u.roles[p.id]}
		} else if dv, ok := sm["domain"]; ok {
			dr, _ := dv.(map[string]any)
			id, _ := dr["id"].(string)
			name, _ := dr["name"].(string)
			found := ""
			for did, dn := range c.st.domains {
				if did == id || (id == "" && dn == name) {
					found = did
				}
			}
			if found == "" || !hasAdminSomewhere(u) {
				return keystoneUnauthorized()
			}
			t.domainID, t.roles = found, []string{"admin"}
		} else {
			return keystoneUnauthorized()
		}
	case !hasScope && fromToken != nil:
		t.projectID, t.domainID, t.roles = fromToken.projectID, fromToken.domainID, fromToken.roles
	case !hasScope && u.defaultProject != "" && u.roles[u.defaultProject] != "":
		t.projectID, t.roles = u.defaultProject, []string{u.roles[u.defaultProject]}
	}
	var roles []string
	seen := map[string]bool{}
	for _, r := range t.roles {
		for _, ir := range impliedRoles(r) {
			if !seen[ir] {
				seen[ir] = true
				roles = append(roles, ir)
			}
		}
	}
	t.roles = roles
	c.st.tokens[t.id] = t
	_, nocatalog := c.query["nocatalog"]
	return jsonResp(http.StatusCreated, c.tokenJSON(t, !nocatalog)).with("X-Subject-Token", t.id)
}

func hasAdminSomewhere(u *user) bool {
	for _, r := range u.roles {
		if r == "admin" {
			return true
		}
	}
	return false
}

// validateToken is GET /v3/auth/tokens with X-Subject-Token.
func (c *call) validateToken() *response {
	if r := c.authenticate(); r != nil {
		return r
	}
	id := c.r.Header.Get("X-Subject-Token")
	t := c.st.tokens[id]
	if t == nil || t.revoked || !c.now.Before(t.expires) {
		return keystoneError(http.StatusNotFound, "Not Found", "Could not find token: %s.", id)
	}
	_, nocatalog := c.query["nocatalog"]
	return jsonResp(http.StatusOK, c.tokenJSON(t, !nocatalog)).with("X-Subject-Token", t.id)
}

func (c *call) tokenJSON(t *token, withCatalog bool) map[string]any {
	u := c.st.user(t.userID)
	domain := func(id string) map[string]any { return map[string]any{"id": id, "name": c.st.domains[id]} }
	body := map[string]any{
		"methods":    t.methods,
		"user":       map[string]any{"domain": domain(u.domainID), "id": u.id, "name": u.name, "password_expires_at": nil},
		"audit_ids":  []string{t.auditID},
		"expires_at": t.expires.UTC().Format("2006-01-02T15:04:05.000000Z"),
		"issued_at":  t.issued.UTC().Format("2006-01-02T15:04:05.000000Z"),
	}
	if t.projectID != "" || t.domainID != "" {
		var roles []any
		for _, r := range t.roles {
			roles = append(roles, map[string]any{"id": c.st.roleIDs[r], "name": r})
		}
		body["roles"] = roles
		if withCatalog {
			body["catalog"] = c.catalogJSON()
		}
	}
	if p := c.st.project(t.projectID); p != nil {
		body["project"] = map[string]any{"domain": domain(p.domainID), "id": p.id, "name": p.name}
		body["is_domain"] = false
	}
	if t.domainID != "" {
		body["domain"] = domain(t.domainID)
	}
	if t.appCred != nil {
		body["application_credential"] = map[string]any{"id": t.appCred.id, "name": t.appCred.name, "restricted": true}
	}
	return map[string]any{"token": body}
}

// tokenID is a fernet-looking token.
func (s *Server) tokenID() string {
	var raw []byte
	for i := 0; i < 4; i++ {
		raw = append(raw, []byte(s.requestID())...)
	}
	enc := base64.URLEncoding.EncodeToString(raw)
	return "gAAAAAB" + strings.TrimRight(enc, "=")[:176]
}
