package client

import (
	"context"
	"net/http"
	"reflect"
	"testing"
)

func TestMaintenance(t *testing.T) {
	state := newGuarded("deactivated")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3.1/maintenance", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, fixture(t, "maintenance", state.get()+".json"))
	})
	mux.HandleFunc("POST /api/v3.1/maintenance/activate", func(w http.ResponseWriter, r *http.Request) {
		if state.get() != "deactivated" {
			w.WriteHeader(304)
			return
		}
		state.set("activating")
		reply(w, 200, fixture(t, "maintenance", "activating.json"))
	})
	mux.HandleFunc("POST /api/v3.1/maintenance/deactivate", func(w http.ResponseWriter, r *http.Request) {
		if state.get() == "deactivated" {
			w.WriteHeader(304)
			return
		}
		state.set("deactivated")
		reply(w, 200, fixture(t, "maintenance", "deactivated.json"))
	})
	f := newFake(t, mux)
	c := f.client(t)
	ctx := context.Background()

	st, err := c.Maintenance.Status(ctx)
	if err != nil || st.Status != MaintenanceDeactivated || st.RemainingExecutions != nil {
		t.Fatalf("%+v %v", st, err)
	}
	st, err = c.Maintenance.Activate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := RemainingExecutions{{ID: "e1", Status: "started", DeploymentID: "dep1", WorkflowID: "install"}}
	if st.Status != MaintenanceActivating || !reflect.DeepEqual(st.RemainingExecutions, want) || st.RequestedBy != "admin" {
		t.Fatalf("activate = %+v (the [[...]] quirk must be unwrapped)", st)
	}
	if r := f.last(t); r.Method != "POST" || len(r.Body) != 0 {
		t.Fatalf("activate sent %s with body %q", r.Method, r.Body)
	}
	if _, err := c.Maintenance.Activate(ctx); !IsNotModified(err) || ErrorCode(err) != CodeNotModified || IsRetryable(err) {
		t.Fatalf("second activate: %v", err)
	}
	state.set("activated")
	st, err = c.Maintenance.Status(ctx)
	if err != nil || st.Status != MaintenanceActivated || len(st.RemainingExecutions) != 0 || st.RemainingExecutions == nil {
		t.Fatalf("%+v %v", st, err)
	}
	if st, err = c.Maintenance.Deactivate(ctx); err != nil || st.Status != MaintenanceDeactivated {
		t.Fatalf("%+v %v", st, err)
	}
	if _, err := c.Maintenance.Deactivate(ctx); !IsNotModified(err) {
		t.Fatalf("second deactivate: %v", err)
	}
}

func TestRemainingExecutionsShapes(t *testing.T) {
	tests := []struct {
		in   string
		want int
		err  bool
	}{
		{`null`, -1, false},
		{`[]`, 0, false},
		{`[[]]`, 0, false},
		{`[{"id":"a"},{"id":"b"}]`, 2, false},
		{`[[{"id":"a"},{"id":"b"}]]`, 2, false},
		{`{"id":"a"}`, 0, true},
	}
	for _, tt := range tests {
		var r RemainingExecutions
		err := r.UnmarshalJSON([]byte(tt.in))
		if (err != nil) != tt.err {
			t.Fatalf("%s: err %v", tt.in, err)
		}
		if tt.err {
			continue
		}
		if tt.want == -1 {
			if r != nil {
				t.Fatalf("%s: %v, want nil", tt.in, r)
			}
			continue
		}
		if len(r) != tt.want {
			t.Fatalf("%s: %d items, want %d", tt.in, len(r), tt.want)
		}
	}
}

func TestPluginsUpdates(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v3.1/plugins-updates/{bp}/update/initiate", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, fixture(t, "manager", "plugins_update.json"))
	})
	mux.HandleFunc("GET /api/v3.1/plugins-updates/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, fixture(t, "manager", "plugins_update.json"))
	})
	mux.HandleFunc("GET /api/v3.1/plugins-updates", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, []byte(`{"items": [`+string(fixture(t, "manager", "plugins_update.json"))+`], "metadata": {"pagination": {"total": 1, "offset": 0, "size": 1000}}}`))
	})
	f := newFake(t, mux)
	c := f.client(t)
	ctx := context.Background()

	tests := []struct {
		name string
		opts PluginsUpdateOptions
		want map[string]any
	}{
		{name: "nothing set", want: map[string]any{}},
		{
			name: "everything",
			opts: PluginsUpdateOptions{
				PluginNames: []string{"openstack"}, ToLatest: []string{"openstack"}, AllToLatest: Bool(false),
				ToMinor: []string{"utilities"}, AllToMinor: Bool(true), Mapping: map[string]any{"a": "b"},
				Force: Bool(true), AutoCorrectTypes: Bool(true), ReevaluateActiveStatuses: Bool(false), AllTenants: Bool(true),
			},
			want: map[string]any{
				"plugin_names": []any{"openstack"}, "to_latest": []any{"openstack"}, "all_to_latest": false,
				"to_minor": []any{"utilities"}, "all_to_minor": true, "mapping": map[string]any{"a": "b"},
				"force": true, "auto_correct_types": true, "reevaluate_active_statuses": false, "all_tenants": true,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := c.PluginsUpdates.Update(ctx, "bp 1", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			r := f.last(t)
			if r.Method != "POST" || r.Path != "/api/v3.1/plugins-updates/bp%201/update/initiate" {
				t.Fatalf("%s %s (initiate is a POST)", r.Method, r.Path)
			}
			if got := jsonBody(t, r.Body); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("body %v\nwant %v", got, tt.want)
			}
			if u.State != PluginsUpdateExecutingWorkflow || u.Ended() || u.ExecutionID != "8ec77e89-b418-4472-9b44-fe9d7a7fe163" || len(u.DeploymentsToUpdate) != 1 {
				t.Fatalf("update = %+v", u)
			}
		})
	}
	u, err := c.PluginsUpdates.Get(ctx, "ce63a9d6-726b-4ff2-a267-f953af5dc32d")
	if err != nil || u.ID != "ce63a9d6-726b-4ff2-a267-f953af5dc32d" {
		t.Fatalf("%+v %v", u, err)
	}
	l, err := c.PluginsUpdates.List(ctx, nil)
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("%+v %v", l, err)
	}
	for state, ended := range map[string]bool{"successful": true, "failed": true, "no_changes_required": true, "updating": false, "finalizing": false} {
		if (&PluginsUpdate{State: state}).Ended() != ended {
			t.Errorf("Ended(%s) = %v", state, !ended)
		}
	}
}

func TestManagerStatus(t *testing.T) {
	tests := []struct {
		fixture     string
		wantStatus  string
		wantHealthy bool
		wantNames   []string
		wantStates  []string
	}{
		{"status_v7.json", "OK", true, []string{"PostgreSQL", "RabbitMQ", "Webserver"}, []string{"Active", "Active", "Active"}},
		{"status_v4.json", "running", true, []string{"Cloudify Console"}, []string{"active"}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Query().Get("summary") == "true" {
					reply(w, 200, []byte(`{"status": "Fail", "services": {}}`))
					return
				}
				reply(w, 200, fixture(t, "manager", tt.fixture))
			}))
			c := f.client(t)
			st, err := c.Status(context.Background(), false)
			if err != nil {
				t.Fatal(err)
			}
			var names, states []string
			for _, s := range st.Services {
				names = append(names, s.Name)
				states = append(states, s.Status)
				if !s.Active() {
					t.Errorf("%s not active", s.Name)
				}
			}
			if st.Status != tt.wantStatus || st.Healthy() != tt.wantHealthy || !reflect.DeepEqual(names, tt.wantNames) || !reflect.DeepEqual(states, tt.wantStates) {
				t.Fatalf("status %+v", st)
			}
			if f.last(t).Path != "/api/v3.1/status" {
				t.Fatal(f.last(t).Path)
			}
			st, err = c.Status(context.Background(), true)
			if err != nil || st.Status != StatusFail || st.Healthy() || len(st.Services) != 0 {
				t.Fatalf("summary %+v %v", st, err)
			}
			if got := f.last(t).Query["summary"]; !reflect.DeepEqual(got, []string{"true"}) {
				t.Fatalf("summary query %v", got)
			}
		})
	}
	v4 := []ServiceStatus(nil)
	f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, fixture(t, "manager", "status_v4.json"))
	}))
	st, _ := f.client(t).Status(context.Background(), false)
	v4 = st.Services
	if v4[0].Instances[0]["Id"] != "cloudify-stage.service" {
		t.Fatalf("4.x instances not kept: %+v", v4[0])
	}
}

func TestOKAndVersion(t *testing.T) {
	healthy := newGuarded(true)
	f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v3.1/ok":
			if healthy.get() {
				reply(w, 200, []byte(`"OK"`))
			} else {
				reply(w, 500, []byte(`"FAIL"`))
			}
		case "/api/version":
			reply(w, 200, fixture(t, "manager", "version.json"))
		default:
			w.WriteHeader(404)
		}
	}))
	c := f.client(t)
	ctx := context.Background()
	if err := c.OK(ctx); err != nil {
		t.Fatal(err)
	}
	healthy.set(false)
	err := c.OK(ctx)
	if !IsRetryable(err) || ErrorCode(err) != "" {
		t.Fatalf("unhealthy: %v", err)
	}
	v, err := c.Version(ctx)
	if err != nil || v.Version != "7.0.4" || v.Edition != "premium" {
		t.Fatalf("%+v %v", v, err)
	}
	if r := f.last(t); r.Path != "/api/version" || r.Header.Get("Authorization") == "" {
		t.Fatalf("%s auth %q", r.Path, r.Header.Get("Authorization"))
	}
}

func TestClusterStatus(t *testing.T) {
	t.Run("5.0.5 shape", func(t *testing.T) {
		f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, fixture(t, "manager", "cluster_v505.json"))
		}))
		cs, err := f.client(t).ClusterStatus(context.Background(), false)
		if err != nil {
			t.Fatal(err)
		}
		if f.last(t).Path != "/api/v3.1/cluster-status" || cs.Status != StatusOK || len(cs.Services) != 3 {
			t.Fatalf("%+v", cs)
		}
		broker := cs.Services["broker"].Nodes["cfy-manager"]
		if broker.NodeID != "89947217-e31b-4042-b68f-01576e02e27c" || broker.PrivateIP != "172.20.0.2" || broker.PublicIP != "" || broker.Version != "5.0.5" {
			t.Fatalf("broker node %+v", broker)
		}
		if len(broker.Services) != 1 || broker.Services[0].Name != "RabbitMQ" || !broker.Services[0].Active() {
			t.Fatalf("broker services %+v", broker.Services)
		}
	})
	t.Run("7.x shape", func(t *testing.T) {
		f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, fixture(t, "manager", "cluster_v7.json"))
		}))
		cs, err := f.client(t).ClusterStatus(context.Background(), false)
		if err != nil {
			t.Fatal(err)
		}
		if cs.Status != StatusDegraded || !cs.Services["broker"].IsExternal || cs.Services["broker"].Status != StatusOK {
			t.Fatalf("%+v", cs)
		}
		m1 := cs.Services["manager"].Nodes["manager-1"]
		want := []struct{ name, unit, status string }{
			{"Management Worker", "cloudify-mgmtworker", ServiceInactive},
			{"Webserver", "nginx", ServiceActive},
		}
		if m1.Status != StatusFail || len(m1.Services) != 2 || len(m1.Metrics) != 1 {
			t.Fatalf("manager-1 %+v", m1)
		}
		for i, w := range want {
			s := m1.Services[i]
			if s.Name != w.name || s.UnitID != w.unit || s.Status != w.status {
				t.Fatalf("service %d = %+v, want %v", i, s, w)
			}
		}
	})
	t.Run("summary", func(t *testing.T) {
		type answer struct {
			status int
			body   []byte
		}
		ans := newGuarded(answer{200, []byte(`{"status": "Degraded", "services": {}}`)})
		f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			a := ans.get()
			reply(w, a.status, a.body)
		}))
		c := f.client(t)
		cs, err := c.ClusterStatus(context.Background(), true)
		if err != nil || cs.Status != StatusDegraded || f.last(t).Query["summary"][0] != "true" {
			t.Fatalf("%+v %v", cs, err)
		}
		// Fail comes with HTTP 500 (cluster_status.py): a status, not an error.
		ans.set(answer{500, fixture(t, "manager", "cluster_summary_fail.json")})
		cs, err = c.ClusterStatus(context.Background(), true)
		if err != nil || cs.Status != StatusFail {
			t.Fatalf("%+v %v", cs, err)
		}
		// A real internal error stays an error.
		ans.set(answer{500, []byte(`{"message": "db down", "error_code": "internal_server_error", "server_traceback": null}`)})
		if _, err = c.ClusterStatus(context.Background(), true); ErrorCode(err) != CodeInternalServer {
			t.Fatalf("err = %v", err)
		}
		if _, err = c.ClusterStatus(context.Background(), false); ErrorCode(err) != CodeInternalServer {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestManagers(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3.1/managers", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, fixture(t, "manager", "managers.json"))
	})
	mux.HandleFunc("GET /api/v3.1/managers/{host}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("host") != "node1.openstack.local" {
			reply(w, 404, []byte(`{"message": "Requested Manager was not found", "error_code": "not_found_error", "server_traceback": null}`))
			return
		}
		reply(w, 200, fixture(t, "manager", "manager.json"))
	})
	f := newFake(t, mux)
	c := f.client(t)
	l, err := c.Managers.List(context.Background(), &ListOptions{Filters: map[string][]string{"hostname": {"node1.openstack.local"}}})
	if err != nil || len(l.Items) != 1 {
		t.Fatalf("%+v %v", l, err)
	}
	m := l.Items[0]
	if m.Hostname != "node1.openstack.local" || m.Networks["network_2"] != "174.40.0.4" || m.Version != "5.0.0" || m.CACertContent != "CERT CONTENT" {
		t.Fatalf("%+v", m)
	}
	if m, err := c.Managers.Get(context.Background(), "node1.openstack.local"); err != nil || m.PublicIP != "191.31.72.16" || m.Distribution != "centos" {
		t.Fatalf("%+v %v", m, err)
	}
	if _, err := c.Managers.Get(context.Background(), "other"); !IsNotFound(err) {
		t.Fatalf("err = %v", err)
	}
}
