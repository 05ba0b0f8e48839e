package openstack

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

// host1's nova-compute in services_list.json (gophercloud's ServiceListBody).
const host1Compute = "1fdfec3e-ee03-4e36-b99b-71cf2967b70c"

// servicesAs is services_list.json with host1's nova-compute changed.
func servicesAs(t testing.TB, fields map[string]any) string {
	return edit(t, "compute", "services_list.json", func(m map[string]any) {
		for _, s := range m["services"].([]any) {
			svc := s.(map[string]any)
			if svc["id"] == host1Compute {
				for k, v := range fields {
					svc[k] = v
				}
			}
		}
	})
}

// TestGophercloudForcedDownQuirk pins down why lifting forced_down needs
// its own body: gophercloud's UpdateOpts drops forced_down=false.
func TestGophercloudForcedDownQuirk(t *testing.T) {
	b, err := services.UpdateOpts{ForcedDown: false}.ToServiceUpdateMap()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b["forced_down"]; ok {
		t.Error("gophercloud's UpdateOpts now sends forced_down=false: the custom body may not be needed")
	}
}

func TestServiceForceDown(t *testing.T) {
	put := computePath + "/os-services/" + host1Compute
	t.Run("true, by id from 2.53", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.reply(http.MethodGet, computePath+"/os-services", 200, fixture(t, "compute", "services_list.json"))
		fc.reply(http.MethodPut, put, 200, fixture(t, "nova_samples", "force_down_2.53.json"))
		out := decode[ServiceOut](t, mustApply(t, fc.provider(nil), "compute_service_force_down", map[string]cty.Value{"host": str("host1")}).out)
		if !out.ForcedDown || out.State != "down" {
			t.Errorf("forced down: %+v", out)
		}
		reqs := fc.requests(http.MethodPut, put)
		if len(reqs) != 1 {
			t.Fatalf("%d PUTs", len(reqs))
		}
		assertJSON(t, "force down", reqs[0].Body, fixture(t, "nova_samples", "force_down_2.53_req.json"))
		if q := fc.requests(http.MethodGet, computePath+"/os-services")[0].Query; q != "binary=nova-compute&host=host1" {
			t.Errorf("service lookup %q", q)
		}
	})
	t.Run("false is sent", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.reply(http.MethodGet, computePath+"/os-services", 200, servicesAs(t, map[string]any{"forced_down": true}))
		fc.reply(http.MethodPut, put, 200, fixture(t, "compute", "service_update.json"))
		mustApply(t, fc.provider(nil), "compute_service_force_down", map[string]cty.Value{"host": str("host1"), "forced_down": cty.False})
		assertJSON(t, "lift forced down", fc.requests(http.MethodPut, put)[0].Body, `{"forced_down": false}`)
	})
	t.Run("already so", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.reply(http.MethodGet, computePath+"/os-services", 200, servicesAs(t, map[string]any{"forced_down": true}))
		mustApply(t, fc.provider(nil), "compute_service_force_down", map[string]cty.Value{"host": str("host1")})
		if n := len(fc.requests(http.MethodPut, put)); n != 0 {
			t.Errorf("%d PUTs for a service already forced down", n)
		}
	})
	t.Run("legacy endpoint below 2.53", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.micro = "2.40"
		fc.reply(http.MethodGet, computePath+"/os-services", 200, fixture(t, "compute", "services_list_pre253.json"))
		fc.reply(http.MethodPut, computePath+"/os-services/force-down", 200, `{"service": {"host": "host1", "binary": "nova-compute", "forced_down": true}}`)
		mustApply(t, fc.provider(nil), "compute_service_force_down", map[string]cty.Value{"host": str("host1")})
		reqs := fc.requests(http.MethodPut, computePath+"/os-services/force-down")
		if len(reqs) != 1 {
			t.Fatalf("%d legacy PUTs", len(reqs))
		}
		assertJSON(t, "legacy force down", reqs[0].Body, fixture(t, "nova_samples", "force_down_2.11_req.json"))
		if h := reqs[0].Header.Get("X-OpenStack-Nova-API-Version"); h != "2.40" {
			t.Errorf("microversion %s", h)
		}
	})
	t.Run("below 2.11", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.micro = "2.10"
		fc.reply(http.MethodGet, computePath+"/os-services", 200, fixture(t, "compute", "services_list_pre253.json"))
		c := apply(t, fc.provider(nil), "compute_service_force_down", map[string]cty.Value{"host": str("host1")})
		if c.err == nil || !strings.Contains(c.err.Error(), "needs compute microversion 2.11") {
			t.Errorf("force down at 2.10: %v", c.err)
		}
	})
}

func TestServiceDisableEnable(t *testing.T) {
	put := computePath + "/os-services/" + host1Compute
	fc := newFakeCloud(t)
	fc.reply(http.MethodGet, computePath+"/os-services", 200, servicesAs(t, map[string]any{"status": "enabled", "disabled_reason": nil}))
	fc.reply(http.MethodPut, put, 200, fixture(t, "compute", "service_update.json"))
	p := fc.provider(nil)
	mustApply(t, p, "compute_service_disable", map[string]cty.Value{"host": str("host1"), "reason": str("maintenance")})
	assertJSON(t, "disable", fc.requests(http.MethodPut, put)[0].Body, fixture(t, "nova_samples", "disable_log_2.53_req.json"))

	// Without a reason: gophercloud's own update body.
	mustApply(t, p, "compute_service_disable", map[string]cty.Value{"host": str("host1")})
	assertJSON(t, "disable", fc.requests(http.MethodPut, put)[1].Body, fixture(t, "compute", "service_update_req.json"))

	// Enable lifts forced_down first, then enables: two PUTs.
	fc.reply(http.MethodGet, computePath+"/os-services", 200, servicesAs(t, map[string]any{"forced_down": true}))
	fc.sequence(http.MethodPut, put, 200,
		edit(t, "compute", "service_update.json", func(m map[string]any) { m["service"].(map[string]any)["status"] = "disabled" }),
		edit(t, "compute", "service_update.json", func(m map[string]any) { m["service"].(map[string]any)["status"] = "enabled" }))
	out := decode[ServiceOut](t, mustApply(t, p, "compute_service_enable", map[string]cty.Value{"host": str("host1")}).out)
	reqs := fc.requests(http.MethodPut, put)[2:]
	if len(reqs) != 2 || out.Status != "enabled" {
		t.Fatalf("%d PUTs, status %s", len(reqs), out.Status)
	}
	assertJSON(t, "lift", reqs[0].Body, `{"forced_down": false}`)
	assertJSON(t, "enable", reqs[1].Body, `{"status": "enabled"}`)

	// Unknown host.
	c := apply(t, p, "compute_service_disable", map[string]cty.Value{"host": str("nosuch")})
	if pe := providerErr(t, c.err); !pe.Attribute.Equals(cty.GetAttrPath("host")) || !strings.Contains(c.err.Error(), `nova-compute service of host "nosuch" not found`) {
		t.Errorf("unknown host: %v", c.err)
	}
}

func TestServiceListAndCheck(t *testing.T) {
	fc := newFakeCloud(t)
	fc.reply(http.MethodGet, computePath+"/os-services", 200, fixture(t, "compute", "services_list.json"))
	p := fc.provider(nil)
	out := decode[ServiceListOut](t, mustApply(t, p, "compute_service_list", nil).out)
	if out.Count != 4 || out.Services[1].ID != host1Compute || out.Services[1].DisabledReason != "test2" || out.Services[1].UpdatedAt != "2012-10-29T13:42:05Z" {
		t.Errorf("services: %+v", out)
	}
	resp, err := p.Check(t.Context(), &provider.CheckRequest{Request: provider.Request{Action: "compute_service_disable",
		Inputs: cty.ObjectVal(map[string]cty.Value{"host": str("host1")})}, Started: time.Now()})
	if err != nil || resp.Result != sdk.Applied {
		t.Errorf("Check disable on a disabled service: %v %v", resp, err)
	}
	resp, err = p.Check(t.Context(), &provider.CheckRequest{Request: provider.Request{Action: "compute_service_force_down",
		Inputs: cty.ObjectVal(map[string]cty.Value{"host": str("host1")})}, Started: time.Now()})
	if err != nil || resp.Result != sdk.NotApplied {
		t.Errorf("Check force down on a service not forced down: %v %v", resp, err)
	}
}

func TestHypervisorList(t *testing.T) {
	fc := newFakeCloud(t)
	fc.micro = "2.96"
	page1 := strings.ReplaceAll(fixture(t, "compute", "hypervisors_page1.json"), "%s", fc.srv.URL+computePath)
	fc.on(http.MethodGet, computePath+"/os-hypervisors/detail", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("marker") == "" {
			_, _ = w.Write([]byte(page1))
			return
		}
		_, _ = w.Write([]byte(fixture(t, "compute", "hypervisors_page2.json")))
	})
	out := decode[HypervisorListOut](t, mustApply(t, fc.provider(nil), "hypervisor_list", nil).out)
	if out.Count != 2 || out.VCPUs != 2 || out.MemoryMB != 16384 || out.MemoryMBUsed != 1024 || out.Hypervisors[0].Host != "e6a37ee802d74863ab8b91ade8f12a67" || out.Hypervisors[0].FreeRAMMB != 7680 {
		t.Errorf("hypervisors: %+v", out)
	}
	for _, r := range fc.requests(http.MethodGet, computePath+"/os-hypervisors/detail") {
		// 2.88 drops the usage fields: the provider asks for 2.87 at most.
		if h := r.Header.Get("X-OpenStack-Nova-API-Version"); h != "2.87" {
			t.Errorf("hypervisors asked at %s, want 2.87", h)
		}
	}
}
