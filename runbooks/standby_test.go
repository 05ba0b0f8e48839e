package runbooks_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
)

// fakeCodenvy answers the few calls of Codenvy's API (Eclipse Che's
// workspace API) that standby-drill makes: login, workspace create, get
// and delete, with the token required on the workspace calls.
type fakeCodenvy struct {
	password, token string

	mu         sync.Mutex
	workspaces map[string]map[string]any
	calls      []string
}

func newFakeCodenvy(t *testing.T, password, token string) (*fakeCodenvy, string) {
	f := &fakeCodenvy{password: password, token: token, workspaces: map[string]map[string]any{}}
	srv := httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(srv.Close)
	return f, srv.URL
}

func (f *fakeCodenvy) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, r.Method+" "+r.URL.Path)
	reply := func(status int, v any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_ = json.NewEncoder(w).Encode(v)
	}
	switch {
	case r.URL.Path == "/api/":
		reply(200, map[string]any{"resources": []string{"workspace"}})
	case r.URL.Path == "/api/auth/login" && r.Method == http.MethodPost:
		var in struct{ Username, Password string }
		if json.NewDecoder(r.Body).Decode(&in) != nil || in.Password != f.password {
			reply(401, map[string]any{"message": "Authentication failed"})
			return
		}
		reply(200, map[string]any{"value": f.token})
	case r.Header.Get("Authorization") != f.token:
		reply(401, map[string]any{"message": "Unauthorized"})
	case r.URL.Path == "/api/workspace" && r.Method == http.MethodPost:
		var cfg map[string]any
		if json.NewDecoder(r.Body).Decode(&cfg) != nil || cfg["name"] == nil {
			reply(400, map[string]any{"message": "Workspace config required"})
			return
		}
		ws := map[string]any{"id": "workspace" + strings.Repeat("x", 4) + cfg["name"].(string)[len(cfg["name"].(string))-4:], "config": cfg, "status": "STOPPED"}
		f.workspaces[ws["id"].(string)] = ws
		reply(201, ws)
	case strings.HasPrefix(r.URL.Path, "/api/workspace/"):
		id := strings.TrimPrefix(r.URL.Path, "/api/workspace/")
		ws, ok := f.workspaces[id]
		switch {
		case !ok:
			reply(404, map[string]any{"message": "Workspace with id '" + id + "' doesn't exist"})
		case r.Method == http.MethodDelete:
			delete(f.workspaces, id)
			w.WriteHeader(204)
		default:
			reply(200, ws)
		}
	default:
		reply(404, map[string]any{"message": "not found"})
	}
}

// TestStandbyDrill: the drill logs in, creates a workspace, reads it back,
// checks an integration, deletes the workspace, and reports; neither the
// password nor the token reaches the events or the journal.
func TestStandbyDrill(t *testing.T) {
	const password, token = "drill-Pa55word-7f3a", "tok-8c1e5d2b9a70"
	f, url := newFakeCodenvy(t, password, token)
	integration := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	t.Cleanup(integration.Close)

	d := &drill{t: t}
	r := applyDir(t, "standby-drill", d.providers, []string{"RUNBOOK_VAR_password=" + password}, []dsl.VarArg{
		{File: true, Value: filepath.Join("standby-drill", "drill.vars.hcl")},
		{Value: "secondary_url=" + url},
		{Value: `integration_checks={ ldap = "` + integration.URL + `/ldap" }`},
		{Value: "retry_delay=10ms"},
	}, false)
	r.finished(t)
	if r.step("step.delete_workspace") != "succeeded" {
		t.Errorf("delete_workspace %s", r.step("step.delete_workspace"))
	}
	f.mu.Lock()
	left, calls := len(f.workspaces), strings.Join(f.calls, "\n")
	f.mu.Unlock()
	if left != 0 {
		t.Errorf("%d drill workspaces left on the secondary", left)
	}
	for _, want := range []string{"POST /api/auth/login", "POST /api/workspace", "DELETE /api/workspace/"} {
		if !strings.Contains(calls, want) {
			t.Errorf("the drill did not call %s:\n%s", want, calls)
		}
	}
	report := r.outputs["report"]
	if !report.IsKnown() || report.LengthInt() != 4 {
		t.Fatalf("report = %#v", report)
	}
	var checks []string
	for it := report.ElementIterator(); it.Next(); {
		_, c := it.Element()
		checks = append(checks, c.GetAttr("check").AsString()+"="+c.GetAttr("result").AsString())
	}
	if got := strings.Join(checks, ","); got != "health=ok,login=ok,workspace=ok,integration ldap=ok" {
		t.Errorf("report checks %s", got)
	}
	if id := r.outputs["workspace_id"]; id.Type() != cty.String || !strings.HasPrefix(id.AsString(), "workspace") {
		t.Errorf("workspace_id = %#v", id)
	}
	assertNoSecret(t, r, password, token)
}

// TestStandbyDrillWrongPassword: a refused login fails the drill at the
// login step and creates nothing.
func TestStandbyDrillWrongPassword(t *testing.T) {
	f, url := newFakeCodenvy(t, "right", "tok")
	d := &drill{t: t}
	r := applyDir(t, "standby-drill", d.providers, []string{"RUNBOOK_VAR_password=wrong-pw-123"}, []dsl.VarArg{
		{File: true, Value: filepath.Join("standby-drill", "drill.vars.hcl")},
		{Value: "secondary_url=" + url},
	}, false)
	if r.Status != "failed" || r.step("step.login") != "failed" || r.step("step.create_workspace") == "succeeded" {
		t.Fatalf("run %s, login %s, create %s\n%s", r.Status, r.step("step.login"), r.step("step.create_workspace"), r.log)
	}
	if len(f.workspaces) != 0 {
		t.Error("a workspace was created")
	}
	assertNoSecret(t, r, "wrong-pw-123")
}

// assertNoSecret fails if a secret appears in the run's events or in any
// file of its state directory (the journal).
func assertNoSecret(t *testing.T, r *run, secrets ...string) {
	t.Helper()
	var texts []string
	for _, ev := range r.events {
		b, _ := json.Marshal(ev)
		texts = append(texts, string(b))
	}
	_ = filepath.WalkDir(r.stateDir, func(p string, de os.DirEntry, err error) error {
		if err == nil && !de.IsDir() {
			b, _ := os.ReadFile(p)
			texts = append(texts, string(b))
		}
		return nil
	})
	for _, s := range secrets {
		for _, text := range texts {
			if strings.Contains(text, s) {
				t.Errorf("secret %q leaked: %.300s", s, text)
				break
			}
		}
	}
}
