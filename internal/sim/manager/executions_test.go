package manager

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const appEstate = `{
  "users": [
    {"username": "admin", "password": "admin", "role": "sys_admin"},
    {"username": "bob", "password": "bobpass", "tenants": {"default_tenant": "user"}}
  ],
  "blueprints": [{"id": "app", "plugins": [{"package_name": "cloudify-openstack-plugin", "package_version": "3.2.0"}]}],
  "deployments": [{"id": "app-prod", "blueprint_id": "app"}, {"id": "app-dr", "blueprint_id": "app", "workflows": ["install", "uninstall"]}],
  "plugins": [
    {"id": "p1", "package_name": "cloudify-openstack-plugin", "package_version": "3.2.0"},
    {"id": "p2", "package_name": "cloudify-openstack-plugin", "package_version": "3.3.1"}
  ]
}`

func start(s *sim, body map[string]any) map[string]any {
	s.t.Helper()
	return s.do(req{method: "POST", path: "executions", body: body}).want(201).json()
}

func TestExecutionLifecycleAndEvents(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, appEstate), Timing: Timing{Workflows: map[string]time.Duration{"install_new_agents": 200 * time.Millisecond}}})
	x := start(s, map[string]any{"deployment_id": "app-prod", "workflow_id": "install_new_agents", "parameters": map[string]any{"stop_old_agent": true}})
	id := x["id"].(string)
	params := x["parameters"].(map[string]any)
	if x["status"] != "pending" || x["blueprint_id"] != "app" || params["stop_old_agent"] != true || params["install_agent_timeout"] != 300.0 {
		t.Fatalf("started %v", x)
	}
	s.advance(10 * time.Millisecond)
	if st := s.execStatus(id); st != "started" {
		t.Fatalf("status %s", st)
	}
	s.advance(200 * time.Millisecond)
	if st := s.execStatus(id); st != "terminated" {
		t.Fatalf("status %s", st)
	}
	ev := s.do(req{path: "events?execution_id=" + id + "&_sort=@timestamp"}).want(200)
	items := ev.items()
	if len(items) != 3 {
		t.Fatalf("events: %s", ev.raw)
	}
	first, last := items[0].(map[string]any), items[2].(map[string]any)
	if first["event_type"] != "workflow_started" || first["message"] != "Starting 'install_new_agents' workflow execution" ||
		first["type"] != "cloudify_event" || first["deployment_id"] != "app-prod" {
		t.Fatalf("first event %v", first)
	}
	if _, ok := first["level"]; ok {
		t.Fatalf("a cloudify_event has level: %v", first)
	}
	if last["event_type"] != "workflow_succeeded" || last["message"] != "'install_new_agents' workflow execution succeeded" {
		t.Fatalf("last event %v", last)
	}
	if first["timestamp"] != "2024-03-13T03:00:00.010Z" || last["timestamp"] != "2024-03-13T03:00:00.210Z" {
		t.Fatalf("timestamps are the transitions': %v, %v", first["timestamp"], last["timestamp"])
	}
	pg := ev.json()["metadata"].(map[string]any)["pagination"].(map[string]any)
	if pg["total"] != 3.0 {
		t.Fatalf("pagination %v", pg)
	}
	if items := s.do(req{path: "events?execution_id=" + id + "&type=cloudify_log"}).want(200).items(); len(items) != 1 || items[0].(map[string]any)["level"] != "info" {
		t.Fatalf("logs: %v", items)
	}
	if items := s.do(req{path: "events?execution_id=" + id + "&_sort=-@timestamp&_size=1"}).want(200).items(); items[0].(map[string]any)["event_type"] != "workflow_succeeded" {
		t.Fatalf("descending: %v", items)
	}
	if items := s.do(req{path: "events?message=%25succeeded"}).want(200).items(); len(items) != 1 {
		t.Fatalf("message filter: %v", items)
	}
	if items := s.do(req{path: "events?_range=@timestamp,2024-03-13T03:00:00.100Z,"}).want(200).items(); len(items) != 1 {
		t.Fatalf("range: %v", items)
	}
	s.do(req{path: "events?_range=bogus"}).wantError(400, "bad_parameters_error", "")

	// Lists: filters, system workflows hidden by default.
	s.do(req{method: "PUT", path: "snapshots/s", body: map[string]any{}}).want(201)
	if n := len(s.do(req{path: "executions"}).want(200).items()); n != 1 {
		t.Fatalf("default list shows %d executions", n)
	}
	if n := len(s.do(req{path: "executions?_include_system_workflows=true"}).want(200).items()); n != 2 {
		t.Fatalf("with system workflows: %d", n)
	}
	if n := len(s.do(req{path: "executions?_include_system_workflows=true&workflow_id=create_snapshot"}).want(200).items()); n != 1 {
		t.Fatalf("workflow filter: %d", n)
	}
	if n := len(s.do(req{path: "executions?status=terminated&deployment_id=app-prod"}).want(200).items()); n != 1 {
		t.Fatalf("status filter: %d", n)
	}
	s.do(req{path: "executions/nope"}).wantError(404, "not_found_error", "Requested `Execution` with ID `nope` was not found")
}

func TestExecutionStartErrors(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, appEstate)})
	p := "executions"
	s.do(req{method: "POST", path: p, body: map[string]any{"workflow_id": "install"}}).
		wantError(400, "bad_parameters_error", "Missing deployment_id in json request body")
	s.do(req{method: "POST", path: p, body: map[string]any{"deployment_id": 7, "workflow_id": "install"}}).
		wantError(400, "bad_parameters_error", "deployment_id parameter is expected to be of type str but is of type int")
	s.do(req{method: "POST", path: p, body: map[string]any{"deployment_id": "app-prod", "workflow_id": "install", "parameters": []any{1}}}).
		wantError(400, "bad_parameters_error", "request body's 'parameters' field must be a dict but is of type list")
	s.do(req{method: "POST", path: p, body: map[string]any{"deployment_id": "nope", "workflow_id": "install"}}).
		wantError(404, "not_found_error", "Requested `Deployment` with ID `nope` was not found")
	s.do(req{method: "POST", path: p, body: map[string]any{"deployment_id": "app-dr", "workflow_id": "heal"}}).
		wantError(400, "nonexistent_workflow_error", "Workflow heal does not exist in deployment app-dr")
	s.do(req{method: "POST", path: p, body: map[string]any{"deployment_id": "app-prod", "workflow_id": "install_new_agents", "parameters": map[string]any{"colour": "red"}}}).
		wantError(400, "illegal_execution_parameters_error", "")
	s.do(req{method: "POST", path: p, body: map[string]any{"deployment_id": "app-prod", "workflow_id": "install", "force": "sometimes"}}).
		wantError(400, "bad_parameters_error", "force must be <true/false>, got sometimes")
	s.do(req{method: "POST", path: p, body: map[string]any{"deployment_id": "app-prod", "workflow_id": "install", "scheduled_time": "2020-01-01T00:00:00Z"}}).
		wantError(400, "bad_parameters_error", "")

	first := start(s, map[string]any{"deployment_id": "app-prod", "workflow_id": "install"})
	r := s.do(req{method: "POST", path: p, body: map[string]any{"deployment_id": "app-prod", "workflow_id": "heal"}})
	r.wantError(400, "existing_running_execution_error", "")
	if msg := r.json()["message"].(string); !strings.HasPrefix(msg, "The following executions are currently running for this deployment: [<Execution id=`"+first["id"].(string)) {
		t.Fatalf("message: %s", msg)
	}
	// force runs it alongside; queue waits.
	forced := start(s, map[string]any{"deployment_id": "app-prod", "workflow_id": "heal", "force": "true"})
	queued := start(s, map[string]any{"deployment_id": "app-prod", "workflow_id": "heal", "queue": true})
	if forced["status"] != "pending" || queued["status"] != "queued" {
		t.Fatalf("forced %v, queued %v", forced["status"], queued["status"])
	}
	// Another deployment is independent.
	start(s, map[string]any{"deployment_id": "app-dr", "workflow_id": "install"})
	s.advance(50 * time.Millisecond)
	if st := s.execStatus(queued["id"].(string)); st != "pending" && st != "started" {
		t.Fatalf("queued execution after the others ended: %s", st)
	}
	s.advance(100 * time.Millisecond)
	if st := s.execStatus(queued["id"].(string)); st != "terminated" {
		t.Fatalf("queued execution: %s", st)
	}
	// A user may run workflows; scheduling one for later.
	sch := s.do(req{method: "POST", path: p, user: "bob", pass: "bobpass",
		body: map[string]any{"deployment_id": "app-prod", "workflow_id": "install", "scheduled_time": "2024-03-13T04:00:00Z"}}).want(201).json()
	if sch["status"] != "scheduled" || sch["scheduled_for"] != "2024-03-13T04:00:00.000Z" || sch["created_by"] != "bob" {
		t.Fatalf("scheduled: %v", sch)
	}
	s.advance(time.Hour)
	if st := s.execStatus(sch["id"].(string)); st != "terminated" {
		t.Fatalf("scheduled execution after its time: %s", st)
	}
}

func TestExecutionCancel(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, appEstate), Timing: Timing{Run: time.Second}})
	x := start(s, map[string]any{"deployment_id": "app-prod", "workflow_id": "install"})
	id := x["id"].(string)
	p := "executions/" + id
	s.do(req{method: "POST", path: p, body: map[string]any{}}).wantError(400, "bad_parameters_error", "Missing action in json request body")
	s.do(req{method: "POST", path: p, body: map[string]any{"action": "pause"}}).
		wantError(400, "bad_parameters_error", "Invalid action: pause, Valid action values are: ['cancel', 'force-cancel', 'kill', 'resume', 'force-resume', 'requeue']")
	s.do(req{method: "POST", path: "executions/nope", body: map[string]any{"action": "cancel"}}).
		wantError(404, "not_found_error", "Requested `Execution` ['nope'] was not found")
	s.do(req{method: "POST", path: p, body: map[string]any{"action": "resume"}}).
		wantError(409, "conflict_error", "Cannot resume execution: `"+id+"` in state: `pending`")

	s.advance(20 * time.Millisecond)
	c := s.do(req{method: "POST", path: p, body: map[string]any{"action": "cancel"}}).want(200).json()
	if c["status"] != "cancelling" {
		t.Fatalf("cancel answered %v", c)
	}
	// force-cancel is allowed while cancelling; plain cancel is not.
	s.do(req{method: "POST", path: p, body: map[string]any{"action": "cancel"}}).
		wantError(400, "illegal_action_error", "Can't cancel execution "+id+" because it's in status cancelling")
	if c := s.do(req{method: "POST", path: p, body: map[string]any{"action": "force-cancel"}}).want(200).json(); c["status"] != "force_cancelling" {
		t.Fatalf("force-cancel: %v", c)
	}
	s.advance(20 * time.Millisecond)
	if st := s.execStatus(id); st != "cancelled" {
		t.Fatalf("after cancelling: %s", st)
	}
	s.do(req{method: "POST", path: p, body: map[string]any{"action": "force-cancel"}}).
		wantError(400, "illegal_action_error", "Can't force-cancel execution "+id+" because it's in status cancelled")
	ev := s.do(req{path: "events?event_type=workflow_cancelled&execution_id=" + id}).want(200).items()
	if len(ev) != 1 || ev[0].(map[string]any)["message"] != "'install' workflow execution cancelled" {
		t.Fatalf("cancel events %v", ev)
	}
	// resume a cancelled execution: it runs again.
	if r := s.do(req{method: "POST", path: p, body: map[string]any{"action": "resume"}}).want(200).json(); r["status"] != "pending" || r["resume"] != true {
		t.Fatalf("resume: %v", r)
	}
	s.advance(20 * time.Millisecond)
	if k := s.do(req{method: "POST", path: p, body: map[string]any{"action": "kill"}}).want(200).json(); k["status"] != "kill_cancelling" {
		t.Fatalf("kill: %v", k)
	}
	s.advance(20 * time.Millisecond)
	if st := s.execStatus(id); st != "cancelled" {
		t.Fatalf("after kill: %s", st)
	}
}

func TestFailingWorkflowFault(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, appEstate)})
	if err := s.srv.SetFaults(Faults{FailWorkflows: map[string]string{"install_new_agents": "", "create_snapshot": "no space left on device"}}); err != nil {
		t.Fatal(err)
	}
	x := start(s, map[string]any{"deployment_id": "app-prod", "workflow_id": "install_new_agents"})
	s.advance(time.Second)
	got := s.do(req{path: "executions/" + x["id"].(string)}).want(200).json()
	if got["status"] != "failed" || got["error"] != "Simulated failure of workflow 'install_new_agents'" || got["status_display"] != "failed" {
		t.Fatalf("failed execution %v", got)
	}
	ev := s.do(req{path: "events?event_type=workflow_failed"}).want(200).items()
	causes := ev[0].(map[string]any)["error_causes"].([]any)
	if len(causes) != 1 || causes[0].(map[string]any)["type"] != "NonRecoverableError" {
		t.Fatalf("error causes %v", causes)
	}
	s.do(req{method: "PUT", path: "snapshots/s", body: map[string]any{}}).want(201)
	s.advance(time.Second)
	sn := s.do(req{path: "snapshots/s"}).want(200).json()
	if sn["status"] != "failed" || sn["error"] != "no space left on device" {
		t.Fatalf("snapshot after a failed create: %v", sn)
	}
}

func TestMaintenanceDraining(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, appEstate), Timing: Timing{Run: 500 * time.Millisecond}})
	if m := s.do(req{path: "maintenance"}).want(200).json(); m["status"] != "deactivated" || m["remaining_executions"] != nil || m["activated_at"] != "" {
		t.Fatalf("initial maintenance %v", m)
	}
	s.do(req{method: "POST", path: "maintenance/deactivate"}).want(http.StatusNotModified)
	x := start(s, map[string]any{"deployment_id": "app-prod", "workflow_id": "install"})
	id := x["id"].(string)

	s.do(req{method: "POST", path: "maintenance/activate", user: "bob", pass: "bobpass"}).wantError(403, "forbidden_error", "")
	a := s.do(req{method: "POST", path: "maintenance/activate"}).want(200).json()
	rem := a["remaining_executions"].([]any)
	if a["status"] != "activating" || a["activated_at"] != nil || a["requested_by"] != "admin" || len(rem) != 1 || len(rem[0].([]any)) != 1 {
		t.Fatalf("activate answered %v", a)
	}
	s.do(req{method: "POST", path: "maintenance/activate"}).want(http.StatusNotModified)
	m := s.do(req{path: "maintenance"}).want(200).json()
	if m["status"] != "activating" || len(m["remaining_executions"].([]any)) != 1 {
		t.Fatalf("while draining %v", m)
	}
	// Draining: new executions and snapshot writes are refused, reads pass.
	s.do(req{method: "POST", path: "executions", body: map[string]any{"deployment_id": "app-dr", "workflow_id": "install"}}).
		wantError(503, "entering_maintenance_mode", "Your request was rejected since Cloudify manager is currently in maintenance mode")
	s.do(req{method: "PUT", path: "snapshots/s", body: map[string]any{}}).wantError(503, "entering_maintenance_mode", "")
	s.do(req{path: "executions/" + id}).want(200)
	s.do(req{path: "blueprints"}).want(200)

	s.advance(time.Second) // the execution ends; the next request flips to activated
	m = s.do(req{path: "maintenance"}).want(200).json()
	if m["status"] != "activated" || m["activated_at"] != "2024-03-13T03:00:01.000Z" || m["remaining_executions"] != nil {
		t.Fatalf("after draining %v", m)
	}
	s.do(req{method: "POST", path: "executions", body: map[string]any{"deployment_id": "app-dr", "workflow_id": "install"}}).
		wantError(503, "maintenance_mode_active", "Your request was rejected since Cloudify manager is currently in maintenance mode")
	s.do(req{path: "executions/" + id}).wantError(503, "maintenance_mode_active", "")
	s.do(req{path: "events"}).wantError(503, "maintenance_mode_active", "")
	// Allowed: snapshots, snapshot-status, status, version, cluster-status, managers, maintenance.
	s.do(req{method: "PUT", path: "snapshots/during", body: map[string]any{}}).want(201)
	for _, p := range []string{"snapshots", "status", "version", "cluster-status", "managers"} {
		s.do(req{path: p}).want(200)
	}
	s.do(req{path: "snapshot-status", noAuth: true}).want(200)
	// X-BYPASS-MAINTENANCE works for an admin.
	s.do(req{path: "executions", headers: map[string]string{"X-BYPASS-MAINTENANCE": "1"}}).want(200)
	s.do(req{path: "executions", user: "bob", pass: "bobpass", headers: map[string]string{"X-BYPASS-MAINTENANCE": "1"}}).want(503)

	s.do(req{method: "POST", path: "maintenance/pause"}).
		wantError(400, "bad_parameters_error", "Invalid action: pause, Valid action values are: ['activate', 'deactivate']")
	d := s.do(req{method: "POST", path: "maintenance/deactivate"}).want(200).json()
	if d["status"] != "deactivated" {
		t.Fatalf("deactivate %v", d)
	}
	// The snapshot taken in maintenance is a system workflow: it blocks others.
	s.do(req{method: "POST", path: "executions", body: map[string]any{"deployment_id": "app-dr", "workflow_id": "install"}}).
		wantError(400, "existing_running_execution_error", "")
	s.advance(time.Second)
	start(s, map[string]any{"deployment_id": "app-dr", "workflow_id": "install"})

	// With nothing running, activation is immediate.
	s.advance(time.Second)
	if a := s.do(req{method: "POST", path: "maintenance/activate"}).want(200).json(); a["status"] != "activated" || a["activated_at"] == nil {
		t.Fatalf("immediate activation %v", a)
	}
}

func TestPluginsUpdate(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, appEstate)})
	p := "plugins-updates/app/update/initiate"
	s.do(req{method: "PUT", path: p, body: map[string]any{"force": true}}).wantError(405, "method_not_allowed_error", "")
	s.do(req{method: "POST", path: p, body: map[string]any{"force": "true"}}).
		wantError(400, "bad_parameters_error", "force parameter is expected to be of type bool but is of type str")
	s.do(req{method: "POST", path: "plugins-updates/nope/update/initiate", body: map[string]any{}}).
		wantError(404, "not_found_error", "Requested `Blueprint` with ID `nope` was not found")
	u := s.do(req{method: "POST", path: p, body: map[string]any{"force": true}}).want(200).json()
	if u["state"] != "executing_workflow" || u["forced"] != true || len(u["deployments_to_update"].([]any)) != 2 {
		t.Fatalf("initiate %v", u)
	}
	s.advance(time.Second)
	g := s.do(req{path: "plugins-updates/" + u["id"].(string)}).want(200).json()
	if g["state"] != "successful" {
		t.Fatalf("after the workflow %v", g)
	}
	if st := s.execStatus(u["execution_id"].(string)); st != "terminated" {
		t.Fatalf("update_plugin execution %s", st)
	}
	bp := s.do(req{path: "blueprints/app"}).want(200).json()
	used := bp["plan"].(map[string]any)["deployment_plugins_to_install"].([]any)[0].(map[string]any)
	if used["package_version"] != "3.3.1" {
		t.Fatalf("blueprint plugins after the update %v", used)
	}
	// Nothing newer now: no changes required.
	u = s.do(req{method: "POST", path: p, body: map[string]any{}}).want(200).json()
	if u["state"] != "no_changes_required" {
		t.Fatalf("second initiate %v", u)
	}
	if n := len(s.do(req{path: "plugins-updates"}).want(200).items()); n != 2 {
		t.Fatalf("list: %d", n)
	}
	s.do(req{path: "plugins-updates/nope"}).want(404)
}

func TestPluginsUpdate50ForceIsAQueryArgument(t *testing.T) {
	s := newSim(t, Options{Generation: Generation50, Estate: mustEstate(t, appEstate)})
	u := s.do(req{method: "POST", path: "plugins-updates/app/update/initiate?force=true"}).want(200).json()
	if u["forced"] != true {
		t.Fatalf("5.0 initiate %v", u)
	}
	s.do(req{method: "POST", path: "plugins-updates/app/update/initiate?force=perhaps"}).want(400)
}

func TestListsBlueprintsDeploymentsPluginsManagers(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, appEstate)})
	if n := len(s.do(req{path: "blueprints"}).want(200).items()); n != 1 {
		t.Fatalf("blueprints %d", n)
	}
	s.do(req{path: "blueprints/nope"}).wantError(404, "not_found_error", "Requested `Blueprint` with ID `nope` was not found")
	deps := s.do(req{path: "deployments?_sort=id"}).want(200).items()
	if len(deps) != 2 || deps[0].(map[string]any)["id"] != "app-dr" {
		t.Fatalf("deployments %v", deps)
	}
	d := s.do(req{path: "deployments/app-prod"}).want(200).json()
	if len(d["workflows"].([]any)) != len(defaultWorkflows) {
		t.Fatalf("deployment %v", d)
	}
	s.do(req{path: "deployments/nope"}).want(404)
	if n := len(s.do(req{path: "plugins?package_name=cloudify-openstack-plugin"}).want(200).items()); n != 2 {
		t.Fatalf("plugins %d", n)
	}
	s.do(req{path: "plugins/p1"}).want(200)
	s.do(req{path: "plugins/nope"}).want(404)
	ms := s.do(req{path: "managers"}).want(200).items()
	if len(ms) != 1 || ms[0].(map[string]any)["hostname"] != "cfy-manager" {
		t.Fatalf("managers %v", ms)
	}
	s.do(req{path: "managers/cfy-manager"}).want(200)
	s.do(req{path: "managers/nope"}).wantError(404, "not_found_error", "")
}

func TestClusterStatus(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, `{"managers": [
	  {"hostname": "m1", "private_ip": "10.0.0.1"},
	  {"hostname": "m2", "private_ip": "10.0.0.2"}
	]}`)})
	cs := s.do(req{path: "cluster-status"}).want(200).json()
	mgr := cs["services"].(map[string]any)["manager"].(map[string]any)
	if cs["status"] != "OK" || len(mgr["nodes"].(map[string]any)) != 2 || mgr["is_external"] != false {
		t.Fatalf("cluster-status %v", cs)
	}
	if err := s.srv.SetFaults(Faults{ClusterNodes: map[string]string{"m2": "Fail"}}); err != nil {
		t.Fatal(err)
	}
	if cs := s.do(req{path: "cluster-status?summary=true"}).want(200).json(); cs["status"] != "Degraded" || len(cs["services"].(map[string]any)) != 0 {
		t.Fatalf("degraded %v", cs)
	}
	if err := s.srv.SetFaults(Faults{ClusterNodes: map[string]string{"m1": "Fail", "m2": "Fail"}}); err != nil {
		t.Fatal(err)
	}
	if cs := s.do(req{path: "cluster-status?summary=true"}).want(500).json(); cs["status"] != "Fail" {
		t.Fatalf("failed %v", cs)
	}
	if cs := s.do(req{path: "cluster-status"}).want(200).json(); cs["status"] != "Fail" {
		t.Fatalf("full status of a failed cluster %v", cs)
	}
	if err := s.srv.SetFaults(Faults{ClusterNodes: map[string]string{"m9": "Fail"}}); err == nil {
		t.Fatal("unknown node accepted")
	}
}
