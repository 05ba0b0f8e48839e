package manager

import (
	"net/http"
	"testing"
	"time"
)

const usersEstate = `{
  "tenants": ["default_tenant", "other"],
  "users": [
    {"username": "admin", "password": "admin", "role": "sys_admin"},
    {"username": "bob", "password": "bobpass", "role": "default", "tenants": {"default_tenant": "user"}},
    {"username": "eve", "password": "evepass", "active": false, "tenants": {"default_tenant": "user"}}
  ],
  "tokens": [
    {"id": "tok1", "username": "bob", "secret": "s3cret"},
    {"id": "tok2", "username": "admin", "secret": "soon", "expiration_date": "+1h"}
  ]
}`

func TestAuthentication(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, usersEstate)})
	tests := []struct {
		name    string
		q       req
		status  int
		code    string
		message string
	}{
		{"no credentials", req{path: "version", noAuth: true}, 401, "unauthorized_error", "User unauthorized: No authentication info provided"},
		{"wrong password", req{path: "version", user: "admin", pass: "nope"}, 401, "unauthorized_error", "User unauthorized: Authentication failed for <User username=`admin`>"},
		{"unknown user", req{path: "version", user: "mallory", pass: "x"}, 401, "unauthorized_error", "User unauthorized: Authentication failed for <User username=`mallory`>"},
		{"unknown tenant", req{path: "executions", tenant: "nope"}, 403, "forbidden_error", "Authorization failed: Tried to authenticate with invalid tenant name: nope"},
		{"not a member of the tenant", req{path: "executions", user: "bob", pass: "bobpass", tenant: "other"}, 403, "forbidden_error", "User `bob` is not permitted to perform the action execution_list in the tenant `other`"},
		{"admin-only action", req{path: "snapshots", user: "bob", pass: "bobpass"}, 403, "forbidden_error", "User `bob` is not permitted to perform the action snapshot_list in the tenant `default_tenant`"},
		{"deactivated user", req{path: "executions", user: "eve", pass: "evepass"}, 403, "forbidden_error", "Authorization failed: User `eve` is deactivated"},
		{"token: bad structure", req{path: "version", token: "ctok-a-b-c"}, 401, "unauthorized_error", "User unauthorized: Invalid token structure"},
		{"token: wrong secret", req{path: "version", token: "ctok-tok1-wrong"}, 401, "unauthorized_error", "User unauthorized: Unauthorized"},
		{"token: unknown id", req{path: "version", token: "ctok-zzz-s3cret"}, 401, "unauthorized_error", "User unauthorized: Unauthorized"},
		{"bearer is not basic", req{path: "version", noAuth: true, headers: map[string]string{"Authorization": "Bearer x"}}, 401, "unauthorized_error", "User unauthorized: No authentication info provided"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.t = t
			s.do(tt.q).wantError(tt.status, tt.code, tt.message)
		})
	}
	t.Run("good credentials", func(t *testing.T) {
		s.t = t
		s.do(req{path: "version"}).want(200)
		s.do(req{path: "executions", user: "bob", pass: "bobpass"}).want(200)
		s.do(req{path: "executions", token: "ctok-tok1-s3cret"}).want(200)
		s.do(req{path: "executions", tenant: "other"}).want(200) // sys_admin may use any tenant
	})
	t.Run("token expires", func(t *testing.T) {
		s.t = t
		s.do(req{path: "version", token: "ctok-tok2-soon"}).want(200)
		s.advance(2 * time.Hour)
		s.do(req{path: "version", token: "ctok-tok2-soon"}).wantError(401, "unauthorized_error", "User unauthorized: Token is expired")
	})
}

func TestHealthStatusVersion(t *testing.T) {
	s := newSim(t, Options{})
	r := s.do(req{path: "ok", noAuth: true}).want(200)
	if string(r.raw) != "\"OK\"\n" {
		t.Fatalf("/ok = %q", r.raw)
	}
	st := s.do(req{path: "status"}).want(200).json()
	if st["status"] != "OK" || len(st["services"].(map[string]any)) == 0 {
		t.Fatalf("/status = %v", st)
	}
	st = s.do(req{path: "status?summary=true"}).want(200).json()
	if st["status"] != "OK" || len(st["services"].(map[string]any)) != 0 {
		t.Fatalf("/status?summary = %v", st)
	}
	s.do(req{path: "status?summary=maybe"}).wantError(400, "bad_parameters_error", "summary must be <true/false>, got maybe")
	s.do(req{path: "status", noAuth: true}).want(401)
	v := s.do(req{path: "version"}).want(200).json()
	if v["version"] != "7.0.4" || v["edition"] != "premium" {
		t.Fatalf("/version = %v", v)
	}
	if v := s.do(req{path: "/api/version"}).want(200).json(); v["version"] != "7.0.4" {
		t.Fatalf("/api/version = %v", v)
	}
	if v := s.do(req{path: "version?_include=version"}).want(200).json(); len(v) != 1 {
		t.Fatalf("_include: %v", v)
	}
	s.do(req{path: "nothing/here"}).wantError(404, "not_found_error", "")
	s.do(req{path: "/api/v2/version"}).wantError(404, "not_found_error", "")
	s.do(req{method: http.MethodDelete, path: "version"}).wantError(405, "method_not_allowed_error", "The method is not allowed for the requested URL.")

	// A failed node makes /ok answer FAIL and /status Fail.
	if err := s.srv.SetFaults(Faults{ClusterNodes: map[string]string{"cfy-manager": "Fail"}}); err != nil {
		t.Fatal(err)
	}
	if r := s.do(req{path: "ok", noAuth: true}).want(500); string(r.raw) != "\"FAIL\"\n" {
		t.Fatalf("/ok = %q", r.raw)
	}
	if st := s.do(req{path: "status"}).want(200).json(); st["status"] != "Fail" {
		t.Fatalf("/status = %v", st)
	}
}

func TestTokens(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, usersEstate)})
	s.do(req{method: "POST", path: "tokens", body: "{}", ctype: "none"}).
		wantError(415, "unsupported_content_type_error", "Content type must be application/json")
	s.do(req{method: "POST", path: "tokens", body: map[string]any{"description": 5}}).
		wantError(400, "bad_parameters_error", "description parameter is expected to be of type str but is of type int")
	s.do(req{method: "POST", path: "tokens", body: map[string]any{"expiration_date": "2000-01-01T00:00:00Z"}}).
		wantError(400, "bad_parameters_error", "Expiration date was in the past.")

	tok := s.do(req{method: "POST", path: "tokens", body: map[string]any{"description": "drill"}}).want(200).json()
	value := tok["value"].(string)
	id := tok["id"].(string)
	if tok["username"] != "admin" || tok["role"] != "sys_admin" || tok["description"] != "drill" || len(value) != len("ctok-")+10+1+40 {
		t.Fatalf("POST /tokens = %v", tok)
	}
	s.do(req{path: "executions", token: value}).want(200)

	list := s.do(req{path: "tokens"}).want(200)
	found := false
	for _, it := range list.items() {
		m := it.(map[string]any)
		if m["id"] == id {
			found = true
			if m["value"] != "ctok-"+id+"-********" {
				t.Fatalf("listed token shows its secret: %v", m)
			}
		}
	}
	if !found {
		t.Fatalf("token %s not listed: %s", id, list.raw)
	}
	if g := s.do(req{path: "tokens/" + id}).want(200).json(); g["value"] != "ctok-"+id+"-********" {
		t.Fatalf("GET token = %v", g)
	}
	// bob cannot see admin's token.
	s.do(req{path: "tokens/" + id, user: "bob", pass: "bobpass"}).wantError(404, "not_found_error", "Could not find token "+id)
	s.do(req{method: "DELETE", path: "tokens/" + id}).want(204)
	s.do(req{method: "DELETE", path: "tokens/" + id}).wantError(404, "not_found_error", "Could not find token "+id)
	s.do(req{path: "executions", token: value}).wantError(401, "unauthorized_error", "User unauthorized: Unauthorized")
}

func TestTokens50(t *testing.T) {
	s := newSim(t, Options{Generation: Generation50})
	m := s.do(req{path: "tokens"}).want(200).json()
	value, _ := m["value"].(string)
	if value == "" || m["role"] != "sys_admin" {
		t.Fatalf("GET /tokens (5.0) = %v", m)
	}
	s.do(req{path: "executions", token: value}).want(200)
	s.do(req{path: "executions", token: "not-a-token"}).wantError(401, "unauthorized_error", "")
	s.do(req{method: "POST", path: "tokens", body: map[string]any{}}).wantError(405, "method_not_allowed_error", "")
	if v := s.do(req{path: "version"}).want(200).json(); v["version"] != "5.0.5" {
		t.Fatalf("version = %v", v)
	}
}

func TestEstateValidation(t *testing.T) {
	bad := []string{
		`{"unknown": 1}`,
		`{"generation": "4.0"}`,
		`{"users": [{"username": ""}]}`,
		`{"snapshots": [{"id": "a", "status": "uploading"}]}`,
		`{"executions": [{"id": "x", "workflow_id": "install", "status": "scheduled"}]}`,
		`{"deployments": [{"id": "d", "blueprint_id": "missing"}]}`,
		`{"executions": [{"id": "x", "workflow_id": "install", "created_at": "yesterday"}]}`,
		`{"managers": [{"hostname": "m", "status": "Degraded"}]}`,
	}
	for _, js := range bad {
		if _, err := ParseEstate([]byte(js)); err == nil {
			t.Errorf("ParseEstate(%s) = nil error", js)
		}
	}
}
