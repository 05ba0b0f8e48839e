package manager_test

import (
	"strings"
	"testing"
	"time"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/plugins/provider"
)

func TestMaintenance(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: liveEstate(), Timing: simmanager.Timing{
		Workflows: map[string]time.Duration{"heal": 150 * time.Millisecond},
	}})
	h := newHarness(t, s, nil)

	if st := h.apply("manager.maintenance_status", obj{}); st.str("status") != "deactivated" {
		t.Errorf("status %#v", st.out)
	}
	resp, err := h.check("manager.maintenance_activate", obj{}, time.Now())
	if err != nil || resp.Result != provider.NotApplied {
		t.Errorf("Check before: %+v %v", resp, err)
	}

	// A running execution keeps the mode activating until it drains.
	heal := h.apply("manager.execution_start", obj{"workflow_id": "heal", "deployment_id": "app-prod"})
	on := h.apply("manager.maintenance_activate", obj{})
	if on.str("status") != "activated" || on.str("activated_at") == "" {
		t.Errorf("activate: %#v", on.out)
	}
	if logs := on.logs(); !strings.Contains(logs, "maintenance mode activating") || !strings.Contains(logs, heal.str("execution_id")+" (heal on app-prod") {
		t.Errorf("the log does not say what it waited for:\n%s", logs)
	}
	if x, err := newClient(t, s).Executions.Get(t.Context(), heal.str("execution_id")); err != nil && !strings.Contains(err.Error(), "maintenance") || err == nil && !x.Ended() {
		t.Errorf("activated while %s runs: %+v %v", heal.str("execution_id"), x, err)
	}

	// Again: the manager answers 304, which is success.
	again := h.apply("manager.maintenance_activate", obj{})
	if again.str("status") != "activated" || !strings.Contains(again.logs(), "already") {
		t.Errorf("second activate: %#v\n%s", again.out, again.logs())
	}
	resp, err = h.check("manager.maintenance_activate", obj{}, time.Now())
	if err != nil || resp.Result != provider.Applied {
		t.Errorf("Check activated: %+v %v", resp, err)
	}
	// Executions are refused meanwhile, with the manager's message; a 503 is
	// retryable (maintenance ends).
	pe := h.fail("manager.execution_start", obj{"workflow_id": "heal", "deployment_id": "app-prod"})
	wantError(t, pe, true, "POST /api/v3.1/executions", "503 maintenance_mode_active", "maintenance mode")

	off := h.apply("manager.maintenance_deactivate", obj{})
	if off.str("status") != "deactivated" {
		t.Errorf("deactivate: %#v", off.out)
	}
	off = h.apply("manager.maintenance_deactivate", obj{})
	if off.str("status") != "deactivated" || !strings.Contains(off.logs(), "already deactivated") {
		t.Errorf("second deactivate: %#v\n%s", off.out, off.logs())
	}
	resp, err = h.check("manager.maintenance_deactivate", obj{}, time.Now())
	if err != nil || resp.Result != provider.Applied {
		t.Errorf("Check deactivated: %+v %v", resp, err)
	}

	// Without waiting: activating is enough.
	h.apply("manager.execution_start", obj{"workflow_id": "heal", "deployment_id": "app-prod"})
	nowait := h.apply("manager.maintenance_activate", obj{"wait": false})
	if nowait.str("status") != "activating" || len(objects(nowait.out.GetAttr("remaining_executions"))) != 1 {
		t.Errorf("activate without wait: %#v", nowait.out)
	}
	resp, err = h.check("manager.maintenance_activate", obj{}, time.Now())
	if err != nil || resp.Result != provider.NotApplied {
		t.Errorf("Check activating (Apply waits for activated): %+v %v", resp, err)
	}
}
