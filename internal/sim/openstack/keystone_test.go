package openstack

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestKeystoneDiscovery(t *testing.T) {
	s := newSim(t, Options{})
	root := s.do(req{path: "/", noAuth: true}).want(http.StatusMultipleChoices).json()
	values := root["versions"].(map[string]any)["values"].([]any)
	v := values[0].(map[string]any)
	if v["id"] != "v3.14" || v["status"] != "stable" || v["links"].([]any)[0].(map[string]any)["href"] != s.url+"/v3/" {
		t.Fatalf("versions %v", v)
	}
	v3 := s.do(req{path: "/v3", noAuth: true}).want(http.StatusOK).json()["version"].(map[string]any)
	if v3["id"] != "v3.14" {
		t.Fatalf("/v3 %v", v3)
	}
}

func TestKeystonePasswordToken(t *testing.T) {
	s := newSim(t, Options{})
	r := s.login("admin", "admin", "admin").want(http.StatusCreated)
	if !strings.HasPrefix(r.header.Get("X-Subject-Token"), "gAAAAAB") {
		t.Fatalf("X-Subject-Token %q", r.header.Get("X-Subject-Token"))
	}
	tok := r.json()["token"].(map[string]any)
	if tok["expires_at"] != t0.Add(time.Hour).Format("2006-01-02T15:04:05.000000Z") {
		t.Fatalf("expires_at %v", tok["expires_at"])
	}
	if tok["project"].(map[string]any)["name"] != "admin" || tok["user"].(map[string]any)["name"] != "admin" {
		t.Fatalf("token %v", tok)
	}
	var roles []string
	for _, r := range tok["roles"].([]any) {
		roles = append(roles, r.(map[string]any)["name"].(string))
	}
	if strings.Join(roles, ",") != "admin,member,reader" {
		t.Fatalf("roles %v", roles)
	}
	urls := map[string]string{}
	for _, e := range tok["catalog"].([]any) {
		em := e.(map[string]any)
		eps := em["endpoints"].([]any)
		if len(eps) != 3 {
			t.Fatalf("endpoints of %v", em["type"])
		}
		urls[em["type"].(string)] = eps[0].(map[string]any)["url"].(string)
	}
	for typ, path := range map[string]string{"identity": "/v3", "compute": "/compute/v2.1", "network": "/network", "image": "/image", "placement": "/placement"} {
		if urls[typ] != s.url+path {
			t.Fatalf("%s endpoint %q, want %q", typ, urls[typ], s.url+path)
		}
	}
	// Validate it, then revoke it.
	id := r.header.Get("X-Subject-Token")
	v := s.do(req{path: "/v3/auth/tokens", token: id, headers: map[string]string{"X-Subject-Token": id}}).want(http.StatusOK)
	if v.header.Get("X-Subject-Token") != id {
		t.Fatal("validation lost the subject token")
	}
	s.do(req{method: "DELETE", path: "/v3/auth/tokens", headers: map[string]string{"X-Subject-Token": id}}).want(http.StatusNoContent)
	s.do(req{path: "/compute/v2.1/flavors", token: id}).want(http.StatusUnauthorized)
}

func TestKeystoneErrors(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, `{
  "projects": [{"name": "admin"}, {"name": "other"}],
  "users": [
    {"name": "admin", "password": "admin", "default_project": "admin", "roles": {"admin": "admin"}},
    {"name": "off", "password": "x", "enabled": false, "roles": {"admin": "member"}}
  ]
}`)})
	unauthorized := `{"error":{"code":401,"message":"The request you have made requires authentication.","title":"Unauthorized"}}`
	for name, r := range map[string]*res{
		"wrong password":   s.login("admin", "nope", "admin"),
		"unknown user":     s.login("mallory", "admin", "admin"),
		"unknown project":  s.login("admin", "admin", "nope"),
		"no role there":    s.login("admin", "admin", "other"),
		"disabled user":    s.login("off", "x", "admin"),
		"unknown app cred": s.do(req{method: "POST", path: "/v3/auth/tokens", noAuth: true, body: `{"auth":{"identity":{"methods":["application_credential"],"application_credential":{"id":"x","secret":"y"}}}}`}),
	} {
		t.Run(name, func(t *testing.T) {
			r.t = t
			r.want(http.StatusUnauthorized)
			if string(r.raw) != unauthorized {
				t.Fatalf("body %s", r.raw)
			}
		})
	}
	r := s.do(req{method: "POST", path: "/v3/auth/tokens", noAuth: true, body: `{"auth": {}}`}).want(http.StatusBadRequest)
	if e := r.json()["error"].(map[string]any); !strings.HasPrefix(e["message"].(string), "Expecting to find identity in auth.") || e["title"] != "Bad Request" {
		t.Fatalf("400 body %s", r.raw)
	}
	// An unscoped request is scoped to the default project.
	r = s.do(req{method: "POST", path: "/v3/auth/tokens", noAuth: true, body: `{"auth":{"identity":{"methods":["password"],"password":{"user":{"name":"admin","domain":{"id":"default"},"password":"admin"}}}}}`}).want(http.StatusCreated)
	if r.json()["token"].(map[string]any)["project"].(map[string]any)["name"] != "admin" {
		t.Fatalf("default project scope %s", r.raw)
	}
}

// Every other call needs a valid X-Auth-Token, as keystonemiddleware
// checks it in front of each service.
func TestTokenValidationOnEveryService(t *testing.T) {
	s := newSim(t, Options{})
	good := s.adminToken()
	paths := []string{"/compute/v2.1/servers", "/network/v2.0/ports", "/image/v2/images", "/placement/resource_providers", "/v3/auth/catalog"}
	for _, p := range paths {
		s.do(req{path: p, token: good}).want(http.StatusOK)
		for name, q := range map[string]req{
			"missing": {path: p, noAuth: true},
			"garbage": {path: p, token: "gAAAAABnope"},
		} {
			r := s.do(q)
			if r.code != http.StatusUnauthorized || !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Keystone uri=") {
				t.Fatalf("%s %s: %d %v %s", name, p, r.code, r.header, r.raw)
			}
		}
	}
	s.advance(61 * time.Minute)
	s.do(req{path: "/compute/v2.1/servers", token: good}).want(http.StatusUnauthorized)
	// The unauthenticated documents stay open.
	s.do(req{path: "/compute/", noAuth: true}).want(http.StatusOK)
	s.do(req{path: "/compute/v2.1", noAuth: true}).want(http.StatusOK)
	s.do(req{path: "/network/", noAuth: true}).want(http.StatusOK)
}

func TestNonAdminSeesOnlyItsProject(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, `{
  "projects": [{"name": "admin"}, {"name": "demo"}],
  "users": [
    {"name": "admin", "password": "admin", "default_project": "admin", "roles": {"admin": "admin"}},
    {"name": "demo", "password": "demo", "default_project": "demo", "roles": {"demo": "member"}}
  ],
  "ports": [{"name": "admin-port", "network": "private"}],
  "servers": [{"name": "admin-vm", "networks": ["private"]}, {"name": "demo-vm", "project": "demo", "networks": ["private"]}]
}`)})
	demo := s.login("demo", "demo", "demo").want(http.StatusCreated).header.Get("X-Subject-Token")
	list := s.do(req{path: "/compute/v2.1/servers/detail", token: demo}).want(http.StatusOK).json()["servers"].([]any)
	if len(list) != 1 || list[0].(map[string]any)["name"] != "demo-vm" {
		t.Fatalf("demo sees %v", list)
	}
	vm := list[0].(map[string]any)
	if _, ok := vm["OS-EXT-SRV-ATTR:host"]; ok {
		t.Fatal("a member sees the host attribute")
	}
	s.do(req{path: "/compute/v2.1/servers?all_tenants=1", token: demo}).wantFault(http.StatusForbidden, "forbidden", "Policy doesn't allow os_compute_api:servers:index:get_all_tenants to be performed.")
	s.do(req{path: "/compute/v2.1/os-hypervisors/detail", token: demo}).wantFault(http.StatusForbidden, "forbidden", "Policy doesn't allow os_compute_api:os-hypervisors:list-detail to be performed.")
	s.do(req{path: "/compute/v2.1/os-services", token: demo}).wantFault(http.StatusForbidden, "forbidden", "")
	ports := s.do(req{path: "/network/v2.0/ports", token: demo}).want(http.StatusOK).json()["ports"].([]any)
	if len(ports) != 1 {
		t.Fatalf("demo sees %d ports", len(ports))
	}
	all := s.do(req{path: "/compute/v2.1/servers?all_tenants=true"}).want(http.StatusOK).json()["servers"].([]any)
	if len(all) != 2 {
		t.Fatalf("admin all_tenants: %d", len(all))
	}
	own := s.do(req{path: "/compute/v2.1/servers"}).want(http.StatusOK).json()["servers"].([]any)
	if len(own) != 1 {
		t.Fatalf("admin without all_tenants: %d", len(own))
	}
}
