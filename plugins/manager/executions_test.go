package manager_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/plugins/provider"
)

func TestExecutionStartAndWait(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: liveEstate()})
	h := newHarness(t, s, nil)

	// parameters is a cty.DynamicPseudoType input: any object.
	params := cty.ObjectVal(map[string]cty.Value{
		"install_agent_timeout": cty.NumberIntVal(300),
		"stop_old_agent":        cty.False,
		"node_ids":              cty.TupleVal([]cty.Value{cty.StringVal("vm")}),
	})
	started := time.Now()
	res := h.apply("manager.execution_start", obj{
		"workflow_id": "install_new_agents", "deployment_id": "app-prod", "parameters": params, "wait": true,
	})
	if res.str("status") != "terminated" || res.str("workflow_id") != "install_new_agents" || res.str("deployment_id") != "app-prod" {
		t.Errorf("outputs %#v", res.out)
	}
	if logs := res.logs(); !strings.Contains(logs, "Starting 'install_new_agents' workflow execution") ||
		!strings.Contains(logs, "'install_new_agents' workflow execution succeeded") {
		t.Errorf("events not streamed:\n%s", logs)
	}
	x, err := newClient(t, s).Executions.Get(context.Background(), res.str("execution_id"))
	if err != nil {
		t.Fatal(err)
	}
	if x.Parameters["install_agent_timeout"] != float64(300) || x.Parameters["stop_old_agent"] != false {
		t.Errorf("parameters sent: %v", x.Parameters)
	}

	// Check finds it: same workflow, same deployment, created after the
	// attempt started.
	in := obj{"workflow_id": "install_new_agents", "deployment_id": "app-prod"}
	resp, err := h.check("manager.execution_start", in, started)
	if err != nil || resp.Result != provider.Applied || resp.Outputs.GetAttr("execution_id").AsString() != res.str("execution_id") {
		t.Errorf("Check: %+v %v, want Applied with %s", resp, err, res.str("execution_id"))
	}
	resp, err = h.check("manager.execution_start", in, time.Now().Add(time.Minute))
	if err != nil || resp.Result != provider.Unknown {
		t.Errorf("Check with nothing newer: %+v %v, want Unknown", resp, err)
	}

	// Start without waiting, then wait.
	heal := h.apply("manager.execution_start", obj{"workflow_id": "heal", "deployment_id": "app-prod", "parameters": obj{"node_instance_id": "vm_1"}})
	if st := heal.str("status"); st != "pending" {
		t.Errorf("status %q, want pending", st)
	}
	waited := h.apply("manager.execution_wait", obj{"execution_id": heal.str("execution_id")})
	if waited.str("status") != "terminated" || !strings.Contains(waited.logs(), "'heal' workflow execution succeeded") {
		t.Errorf("wait: %#v\n%s", waited.out, waited.logs())
	}
	quiet := h.apply("manager.execution_wait", obj{"execution_id": heal.str("execution_id"), "logs": false})
	for _, ev := range quiet.events {
		if strings.Contains(ev.Message, "Starting 'heal' workflow on deployment") {
			t.Errorf("logs = false streamed a log line: %q", ev.Message)
		}
	}
}

func TestExecutionFailures(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: liveEstate()})
	h := newHarness(t, s, nil)

	pe := h.fail("manager.execution_start", obj{"workflow_id": "nope", "deployment_id": "app-prod"})
	wantError(t, pe, false, "manager.execution_start", "POST /api/v3.1/executions", "400 nonexistent_workflow_error", "Workflow nope does not exist in deployment app-prod")
	pe = h.fail("manager.execution_start", obj{"workflow_id": "heal", "deployment_id": "gone"})
	wantError(t, pe, false, "404 not_found_error", "Deployment")
	pe = h.fail("manager.execution_start", obj{"workflow_id": "heal", "deployment_id": "app-prod", "parameters": "x=1"})
	wantError(t, pe, false, "parameters must be an object")
	if !pe.Attribute.Equals(ctyPath("parameters")) {
		t.Errorf("attribute %#v", pe.Attribute)
	}
	pe = h.fail("manager.execution_start", obj{"workflow_id": "install_new_agents", "deployment_id": "app-prod", "parameters": obj{"colour": "blue"}})
	wantError(t, pe, false, "400 illegal_execution_parameters_error", "colour")

	s.faults(t, simmanager.Faults{FailWorkflows: map[string]string{"install_new_agents": "agent install timed out"}})
	pe = h.fail("manager.execution_start", obj{"workflow_id": "install_new_agents", "deployment_id": "app-prod", "wait": true})
	wantError(t, pe, false, "install_new_agents", "failed", "agent install timed out")

	// fail_on_error = false reports the status instead.
	start := h.apply("manager.execution_start", obj{"workflow_id": "install_new_agents", "deployment_id": "app-prod"})
	res := h.apply("manager.execution_wait", obj{"execution_id": start.str("execution_id"), "fail_on_error": false})
	if res.str("status") != "failed" || res.str("error") != "agent install timed out" {
		t.Errorf("outputs %#v", res.out)
	}
	pe = h.fail("manager.execution_wait", obj{"execution_id": "missing"})
	wantError(t, pe, false, "GET /api/v3.1/executions/missing", "404 not_found_error")
}

func TestExecutionCancel(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: liveEstate(), Timing: simmanager.Timing{
		Workflows: map[string]time.Duration{"heal": time.Minute},
	}})
	h := newHarness(t, s, nil)
	start := h.apply("manager.execution_start", obj{"workflow_id": "heal", "deployment_id": "app-prod"})
	id := start.str("execution_id")
	resp, err := h.check("manager.execution_cancel", obj{"execution_id": id}, time.Now())
	if err != nil || resp.Result != provider.NotApplied {
		t.Errorf("Check before: %+v %v", resp, err)
	}
	res := h.apply("manager.execution_cancel", obj{"execution_id": id})
	if res.str("status") != "cancelled" {
		t.Errorf("cancel: %#v\n%s", res.out, res.logs())
	}
	// Again: it has ended, nothing is sent.
	again := h.apply("manager.execution_cancel", obj{"execution_id": id, "force": true})
	if again.str("status") != "cancelled" {
		t.Errorf("second cancel: %#v", again.out)
	}
	if n := count(s.requests(t), "POST", "/api/v3.1/executions/"+id); n != 1 {
		t.Errorf("%d cancel requests, want 1", n)
	}
	resp, err = h.check("manager.execution_cancel", obj{"execution_id": id}, time.Now())
	if err != nil || resp.Result != provider.Applied {
		t.Errorf("Check after: %+v %v", resp, err)
	}
}

// With wait, a retry (its attempt timed out) waits for the execution the
// first attempt started instead of starting a second one.
func TestExecutionStartAdoptsItsExecution(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: liveEstate(), Timing: simmanager.Timing{
		Workflows: map[string]time.Duration{"heal": 100 * time.Millisecond},
	}})
	h := newHarness(t, s, nil)
	in := obj{"workflow_id": "heal", "deployment_id": "app-prod"}
	first := h.apply("manager.execution_start", in)
	in["wait"] = true
	second := h.apply("manager.execution_start", in)
	if second.str("execution_id") != first.str("execution_id") || second.str("status") != "terminated" || !strings.Contains(second.logs(), "already running") {
		t.Errorf("second start: %#v\n%s", second.out, second.logs())
	}
	if n := count(s.requests(t), "POST", "/api/v3.1/executions"); n != 1 {
		t.Errorf("%d POST /executions, want 1", n)
	}
	// Once it has ended, the next start starts a new one.
	third := h.apply("manager.execution_start", in)
	if third.str("execution_id") == first.str("execution_id") {
		t.Errorf("a finished execution was adopted")
	}
}
