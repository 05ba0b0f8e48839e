package openstack

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Floating IPs of fip_list.json (gophercloud's FipDNS, free, and FipNoDNS,
// on port 74a342ce...), and the port of gophercloud's associate test.
const (
	fipFree      = "2f95fd2b-9f6a-4e8e-9e9a-2cbe286cbf9e"
	fipBusy      = "ada25a95-f321-4f59-b0e0-f3a970dd3d63"
	assocPort    = "423abc8d-2991-4a55-ba98-2aaea84cc72e"
	fixturePort  = "46d4bfb9-b26e-41f3-bd2e-e6dcc1ccedb2"
	fixturePort0 = "74a342ce-8e07-4e91-880c-9f834b68fa25"
)

// portAs is port_get.json with fields of "port" replaced.
func portAs(t testing.TB, fields map[string]any) string {
	return edit(t, "network", "port_get.json", func(m map[string]any) {
		for k, v := range fields {
			m["port"].(map[string]any)[k] = v
		}
	})
}

func TestFloatingIPDisassociate(t *testing.T) {
	fc := newFakeCloud(t)
	fc.reply(http.MethodGet, networkPath+"/floatingips", 200, fixture(t, "network", "fip_list.json"))
	fc.reply(http.MethodPut, networkPath+"/floatingips/"+fipBusy, 200, fixture(t, "network", "disassociate.json"))
	out := decode[FloatingIPOut](t, mustApply(t, fc.provider(nil), "floating_ip_disassociate", map[string]cty.Value{"floating_ip": str("10.0.0.3")}).out)
	if out.PortID != "" || out.PreviousPortID != fixturePort0 || out.PreviousFixedIP != "192.0.0.2" {
		t.Errorf("disassociated: %+v", out)
	}
	if q := fc.requests(http.MethodGet, networkPath+"/floatingips")[0].Query; q != "floating_ip_address=10.0.0.3" {
		t.Errorf("lookup %q", q)
	}
	assertJSON(t, "disassociate", fc.requests(http.MethodPut, networkPath+"/floatingips/"+fipBusy)[0].Body, fixture(t, "network", "disassociate_req.json"))

	// A free one is left alone.
	c := mustApply(t, fc.provider(nil), "floating_ip_disassociate", map[string]cty.Value{"floating_ip": str("192.0.0.4")})
	if n := len(fc.requests(http.MethodPut, networkPath+"/floatingips/"+fipFree)); n != 0 || !contains(c.logs(), "is not associated") {
		t.Errorf("disassociating a free IP: %d PUTs, logs %v", n, c.logs())
	}
}

func TestFloatingIPAssociate(t *testing.T) {
	fc := newFakeCloud(t)
	fc.reply(http.MethodGet, networkPath+"/floatingips", 200, fixture(t, "network", "fip_list.json"))
	fc.reply(http.MethodGet, networkPath+"/ports/"+assocPort, 200, portAs(t, map[string]any{"id": assocPort}))
	fc.reply(http.MethodPut, networkPath+"/floatingips/"+fipFree, 200, fixture(t, "network", "associate.json"))
	p := fc.provider(nil)
	out := decode[FloatingIPOut](t, mustApply(t, p, "floating_ip_associate", map[string]cty.Value{"floating_ip": str("192.0.0.4"), "port": str(assocPort)}).out)
	if out.PortID != assocPort || out.PreviousPortID != "" {
		t.Errorf("associated: %+v", out)
	}
	assertJSON(t, "associate", fc.requests(http.MethodPut, networkPath+"/floatingips/"+fipFree)[0].Body, fixture(t, "network", "associate_req.json"))

	// One associated elsewhere is refused unless reassociate.
	c := apply(t, p, "floating_ip_associate", map[string]cty.Value{"floating_ip": str("10.0.0.3"), "port": str(assocPort)})
	if pe := providerErr(t, c.err); !pe.Attribute.Equals(cty.GetAttrPath("floating_ip")) || !strings.Contains(c.err.Error(), "is associated with port "+fixturePort0) {
		t.Errorf("associated elsewhere: %v", c.err)
	}
	// Neutron's 409 is reported with its message, not retried.
	fc.reply(http.MethodPut, networkPath+"/floatingips/"+fipBusy, http.StatusConflict, fixture(t, "nova_samples", "neutron_error_409.json"))
	c = apply(t, p, "floating_ip_associate", map[string]cty.Value{"floating_ip": str("10.0.0.3"), "port": str(assocPort), "reassociate": cty.True})
	want := "openstack.floating_ip_associate: PUT " + networkPath + "/floatingips/" + fipBusy + ": 409 Conflict: Cannot associate floating IP 172.24.4.228"
	if c.err == nil || !strings.HasPrefix(c.err.Error(), want) || providerErr(t, c.err).Retryable {
		t.Errorf("neutron 409:\n got %v\nwant %s...", c.err, want)
	}

	// Check: the floating IP on the port is the effect.
	fc.reply(http.MethodGet, networkPath+"/ports/"+fixturePort0, 200, portAs(t, map[string]any{"id": fixturePort0}))
	resp, err := p.Check(t.Context(), &provider.CheckRequest{Request: provider.Request{Action: "floating_ip_associate",
		Inputs: cty.ObjectVal(map[string]cty.Value{"floating_ip": str("10.0.0.3"), "port": str(fixturePort0)})}, Started: time.Now()})
	if err != nil || resp.Result != sdk.Applied {
		t.Errorf("Check associate in place: %v %v", resp, err)
	}
}

func TestPortDetachAttach(t *testing.T) {
	portPath := networkPath + "/ports/" + fixturePort
	ifPath := derpPath + "/os-interface"
	t.Run("detach keeps the port", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
		fc.reply(http.MethodGet, portPath, 200, portAs(t, map[string]any{"device_id": derpID, "device_owner": "compute:nova"}))
		fc.on(http.MethodDelete, ifPath+"/"+fixturePort, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			fc.sequence(http.MethodGet, portPath, 200,
				portAs(t, map[string]any{"device_id": derpID, "device_owner": "compute:nova"}),
				portAs(t, map[string]any{"device_id": "", "device_owner": "", "status": "DOWN"}))
		})
		out := decode[PortOut](t, mustApply(t, fc.provider(nil), "port_detach", map[string]cty.Value{"server": str(derpID), "port": str(fixturePort)}).out)
		if out.DeviceID != "" || strings.Join(out.FixedIPs, ",") != "10.0.0.1" || out.Status != "DOWN" {
			t.Errorf("detached: %+v", out)
		}
		if n := len(fc.requests(http.MethodDelete, ifPath+"/"+fixturePort)); n != 1 {
			t.Errorf("%d DELETEs", n)
		}
	})
	t.Run("detach of a Nova-made port loses it", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
		fc.reply(http.MethodGet, portPath, 200, portAs(t, map[string]any{"device_id": derpID}))
		fc.on(http.MethodDelete, ifPath+"/"+fixturePort, func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusAccepted)
			fc.reply(http.MethodGet, portPath, 404, `{"NeutronError": {"type": "PortNotFound", "message": "Port `+fixturePort+` could not be found.", "detail": ""}}`)
		})
		c := apply(t, fc.provider(nil), "port_detach", map[string]cty.Value{"server": str(derpID), "port": str(fixturePort)})
		if c.err == nil || !strings.Contains(c.err.Error(), "its fixed IPs [10.0.0.1] are lost") {
			t.Errorf("lost port: %v", c.err)
		}
	})
	t.Run("detach from a server already gone", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.reply(http.MethodGet, portPath, 200, portAs(t, map[string]any{"device_id": ""}))
		fc.reply(http.MethodGet, computePath+"/servers/detail", 200, `{"servers": []}`)
		mustApply(t, fc.provider(nil), "port_detach", map[string]cty.Value{"server": str(derpID), "port": str(fixturePort)})
	})
	t.Run("attach", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
		fc.reply(http.MethodGet, computePath+"/servers/detail", 200, fixture(t, "compute", "servers_list.json"))
		fc.reply(http.MethodGet, portPath, 200, portAs(t, map[string]any{"device_id": ""}))
		fc.on(http.MethodPost, ifPath, func(w http.ResponseWriter, _ *http.Request) {
			_, _ = w.Write([]byte(strings.ReplaceAll(fixture(t, "compute", "interface_create.json"), "0dde1598-b374-474e-986f-5b8dd1df1d4e", fixturePort)))
			fc.reply(http.MethodGet, portPath, 200, portAs(t, map[string]any{"device_id": derpID, "device_owner": "compute:nova"}))
		})
		out := decode[PortOut](t, mustApply(t, fc.provider(nil), "port_attach", map[string]cty.Value{"server": str("derp"), "port": str(fixturePort)}).out)
		if out.DeviceID != derpID || strings.Join(out.FixedIPs, ",") != "10.0.0.1" {
			t.Errorf("attached: %+v", out)
		}
		sent := fc.requests(http.MethodPost, ifPath)[0].Body
		assertJSON(t, "attach", sent, `{"interfaceAttachment": {"port_id": "`+fixturePort+`"}}`)
		// gophercloud's fixture attaches by net_id; the provider attaches the
		// pre-made port (keeping its fixed IP) through the same envelope.
		if keysOf(t, fixture(t, "compute", "interface_create_req.json"))[0] != keysOf(t, sent)[0] {
			t.Error("attach envelope differs from gophercloud's fixture")
		}
	})
	t.Run("attach a port in use", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
		fc.reply(http.MethodGet, portPath, 200, fixture(t, "network", "port_get.json"))
		c := apply(t, fc.provider(nil), "port_attach", map[string]cty.Value{"server": str(derpID), "port": str(fixturePort)})
		if c.err == nil || !strings.Contains(c.err.Error(), "is in use by 5e3898d7-11be-483e-9732-b2f5eccd2b2e (network:router_interface)") {
			t.Errorf("port in use: %v", c.err)
		}
	})
}

func TestLookupsByNameAndID(t *testing.T) {
	fc := newFakeCloud(t)
	// A floating IP by id: gophercloud's FipNoDNS.
	fc.reply(http.MethodGet, networkPath+"/floatingips/"+fipBusy, 200, fixture(t, "network", "fip_nodns.json"))
	fc.reply(http.MethodPut, networkPath+"/floatingips/"+fipBusy, 200, fixture(t, "network", "disassociate.json"))
	out := decode[FloatingIPOut](t, mustApply(t, fc.provider(nil), "floating_ip_disassociate", map[string]cty.Value{"floating_ip": str(fipBusy)}).out)
	if out.PreviousPortID != fixturePort0 {
		t.Errorf("by id: %+v", out)
	}
	// A port by name: gophercloud's ListResponse, named.
	fc.reply(http.MethodGet, networkPath+"/ports", 200, edit(t, "network", "ports_list.json", func(m map[string]any) {
		m["ports"].([]any)[0].(map[string]any)["name"] = "manager-port"
	}))
	fc.reply(http.MethodGet, networkPath+"/floatingips", 200, fixture(t, "network", "fip_list.json"))
	fc.reply(http.MethodPut, networkPath+"/floatingips/"+fipFree, 200, fixture(t, "network", "associate.json"))
	mustApply(t, fc.provider(nil), "floating_ip_associate", map[string]cty.Value{"floating_ip": str("192.0.0.4"), "port": str("manager-port")})
	if q := fc.requests(http.MethodGet, networkPath+"/ports")[0].Query; q != "name=manager-port" {
		t.Errorf("port lookup %q", q)
	}
	assertJSON(t, "associate by port name", fc.requests(http.MethodPut, networkPath+"/floatingips/"+fipFree)[0].Body,
		`{"floatingip": {"port_id": "d80b1a3b-4fc1-49f3-952e-1e2ab7081d8b"}}`)
	// Unknown names point at their input.
	c := apply(t, fc.provider(nil), "floating_ip_associate", map[string]cty.Value{"floating_ip": str("192.0.0.4"), "port": str("nosuch")})
	if pe := providerErr(t, c.err); !pe.Attribute.Equals(cty.GetAttrPath("port")) || !strings.Contains(c.err.Error(), `port "nosuch" not found`) {
		t.Errorf("unknown port: %v", c.err)
	}
	fc.reply(http.MethodGet, networkPath+"/floatingips/nosuch", 404, `{"NeutronError": {"type": "FloatingIPNotFound", "message": "Floating IP nosuch could not be found", "detail": ""}}`)
	c = apply(t, fc.provider(nil), "floating_ip_disassociate", map[string]cty.Value{"floating_ip": str("nosuch")})
	if pe := providerErr(t, c.err); !pe.Attribute.Equals(cty.GetAttrPath("floating_ip")) {
		t.Errorf("unknown floating IP: %v", c.err)
	}
}
