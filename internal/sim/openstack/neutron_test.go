package openstack

import (
	"net/http"
	"testing"
	"time"
)

const neutronEstate = `{
  "ports": [
    {"id": "b0000000-0000-4000-8000-000000000001", "name": "mgr", "network": "private", "fixed_ip": "10.0.0.10", "device_id": "manager"},
    {"id": "b0000000-0000-4000-8000-000000000002", "name": "spare", "network": "private", "fixed_ip": "10.0.0.11"}
  ],
  "floating_ips": [
    {"id": "c0000000-0000-4000-8000-000000000001", "floating_ip_address": "172.24.4.10", "port": "mgr"},
    {"id": "c0000000-0000-4000-8000-000000000002", "floating_ip_address": "172.24.4.11"}
  ],
  "servers": [{"id": "a0000000-0000-4000-8000-000000000001", "name": "manager", "host": "compute-1"}]
}`

const (
	portMgr   = "b0000000-0000-4000-8000-000000000001"
	portSpare = "b0000000-0000-4000-8000-000000000002"
	fipMgr    = "c0000000-0000-4000-8000-000000000001"
	fipFree   = "c0000000-0000-4000-8000-000000000002"
)

func TestNeutronPorts(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, neutronEstate)})
	bound := s.do(req{path: "/network/v2.0/ports?device_id=a0000000-0000-4000-8000-000000000001"}).want(http.StatusOK).json()["ports"].([]any)
	if len(bound) != 1 {
		t.Fatalf("ports of the manager %v", bound)
	}
	p := bound[0].(map[string]any)
	if p["id"] != portMgr || p["device_owner"] != "compute:nova" || p["status"] != "ACTIVE" || p["binding:host_id"] != "compute-1" {
		t.Fatalf("bound port %v", p)
	}
	byIP := s.do(req{path: "/network/v2.0/ports?fixed_ips=ip_address%3D10.0.0.11"}).want(http.StatusOK).json()["ports"].([]any)
	if len(byIP) != 1 || byIP[0].(map[string]any)["id"] != portSpare {
		t.Fatalf("fixed_ips filter %v", byIP)
	}
	fields := s.do(req{path: "/network/v2.0/ports?fields=id&fields=status&name=spare"}).want(http.StatusOK).json()["ports"].([]any)
	if len(fields[0].(map[string]any)) != 2 {
		t.Fatalf("fields %v", fields)
	}
	paged := s.do(req{path: "/network/v2.0/ports?limit=1"}).want(http.StatusOK).json()
	if len(paged["ports"].([]any)) != 1 || paged["ports_links"] == nil {
		t.Fatalf("paging %v", paged)
	}

	s.do(req{path: "/network/v2.0/ports/nope"}).wantNeutron(http.StatusNotFound, "PortNotFound", "Port nope could not be found.")
	put := func(id, body string, headers map[string]string) *res {
		return s.do(req{method: "PUT", path: "/network/v2.0/ports/" + id, body: body, headers: headers})
	}
	put(portSpare, `{"port": {"colour": "red"}}`, nil).wantNeutron(http.StatusBadRequest, "HTTPBadRequest", "Unrecognized attribute(s) 'colour'")
	put(portSpare, `{"port": {"network_id": "x"}}`, nil).wantNeutron(http.StatusBadRequest, "HTTPBadRequest", "Cannot update read-only attribute network_id")
	put(portSpare, `{"port": {"device_id": 5}}`, nil).wantNeutron(http.StatusBadRequest, "HTTPBadRequest", "Invalid input for device_id. Reason: '5' is not a valid string.")
	put(portSpare, `{"port": {"fixed_ips": [{"ip_address": "10.0.0.10"}]}}`, nil).wantNeutron(http.StatusConflict, "IpAddressAlreadyAllocated", "")
	put(portSpare, `{"port": {"name": "x"}}`, map[string]string{"If-Match": "revision_number=7"}).
		wantNeutron(http.StatusPreconditionFailed, "RevisionNumberConstraintFailed", "Constrained to 7, but current revision is 0")

	// Unlinking the manager's port as the Cloudify plugin does.
	got := put(portMgr, `{"port": {"device_id": "", "device_owner": ""}}`, nil).want(http.StatusOK).json()["port"].(map[string]any)
	if got["device_id"] != "" || got["status"] != "DOWN" || got["binding:host_id"] != "" || got["revision_number"].(float64) != 1 {
		t.Fatalf("unlinked %v", got)
	}
	if addrs := s.server("a0000000-0000-4000-8000-000000000001", "")["addresses"].(map[string]any); len(addrs) != 0 {
		t.Fatalf("server still shows %v", addrs)
	}
	// The floating IP stays on the port: its fixed IP did not change.
	if f := s.do(req{path: "/network/v2.0/floatingips/" + fipMgr}).want(http.StatusOK).json()["floatingip"].(map[string]any); f["port_id"] != portMgr {
		t.Fatalf("fip %v", f)
	}
	// Create and delete a port.
	created := s.do(req{method: "POST", path: "/network/v2.0/ports", body: map[string]any{"port": map[string]any{
		"network_id": s.networkID("private"), "name": "new", "fixed_ips": []any{map[string]any{"ip_address": "10.0.0.99"}}}}}).
		want(http.StatusCreated).json()["port"].(map[string]any)
	s.do(req{method: "POST", path: "/network/v2.0/ports", body: `{"port": {"network_id": "nope"}}`}).wantNeutron(http.StatusNotFound, "NetworkNotFound", "Network nope could not be found.")
	s.do(req{method: "DELETE", path: "/network/v2.0/ports/" + created["id"].(string)}).want(http.StatusNoContent)
}

func TestNeutronFloatingIPs(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, neutronEstate)})
	f := s.do(req{path: "/network/v2.0/floatingips?port_id=" + portMgr}).want(http.StatusOK).json()["floatingips"].([]any)[0].(map[string]any)
	if f["status"] != "ACTIVE" || f["fixed_ip_address"] != "10.0.0.10" || f["router_id"] == nil || f["port_details"] == nil {
		t.Fatalf("associated fip %v", f)
	}
	put := func(id, body string) *res {
		return s.do(req{method: "PUT", path: "/network/v2.0/floatingips/" + id, body: body})
	}
	// A fixed IP has one floating IP per external network.
	put(fipFree, `{"floatingip": {"port_id": "`+portMgr+`"}}`).wantNeutron(http.StatusConflict, "FloatingIPPortAlreadyAssociated",
		"Cannot associate floating IP 172.24.4.11 ("+fipFree+") with port "+portMgr+" using fixed IP 10.0.0.10, as that fixed IP already has a floating IP on external network "+f["floating_network_id"].(string)+".")
	put(fipFree, `{"floatingip": {"port_id": "nope"}}`).wantNeutron(http.StatusNotFound, "PortNotFound", "Port nope could not be found.")
	put(fipFree, `{"floatingip": {"port_id": "`+portSpare+`", "fixed_ip_address": "10.0.0.99"}}`).wantNeutron(http.StatusBadRequest, "HTTPBadRequest",
		"Bad floatingip request: Port "+portSpare+" does not have fixed ip 10.0.0.99.")
	put("nope", `{"floatingip": {"port_id": null}}`).wantNeutron(http.StatusNotFound, "FloatingIPNotFound", "Floating IP nope could not be found")
	put(fipFree, `{"floatingip": {"floating_ip_address": "1.2.3.4"}}`).wantNeutron(http.StatusBadRequest, "HTTPBadRequest", "Cannot update read-only attribute floating_ip_address")
	// Disassociate, then move the address to the spare port.
	got := put(fipMgr, `{"floatingip": {"port_id": null}}`).want(http.StatusOK).json()["floatingip"].(map[string]any)
	if got["port_id"] != nil || got["fixed_ip_address"] != nil || got["router_id"] != nil || got["status"] != "DOWN" {
		t.Fatalf("disassociated %v", got)
	}
	got = put(fipMgr, `{"floatingip": {"port_id": "`+portSpare+`"}}`).want(http.StatusOK).json()["floatingip"].(map[string]any)
	if got["port_id"] != portSpare || got["fixed_ip_address"] != "10.0.0.11" || got["status"] != "DOWN" {
		t.Fatalf("associated %v", got)
	}
	s.advance(10 * time.Millisecond)
	if got = s.do(req{path: "/network/v2.0/floatingips/" + fipMgr}).want(http.StatusOK).json()["floatingip"].(map[string]any); got["status"] != "ACTIVE" {
		t.Fatalf("after the L3 agent %v", got)
	}
	// Create and delete.
	ext := s.networkID("public")
	nf := s.do(req{method: "POST", path: "/network/v2.0/floatingips", body: map[string]any{"floatingip": map[string]any{"floating_network_id": ext}}}).
		want(http.StatusCreated).json()["floatingip"].(map[string]any)
	if nf["floating_ip_address"] != "172.24.4.2" {
		t.Fatalf("allocated %v", nf["floating_ip_address"])
	}
	s.do(req{method: "POST", path: "/network/v2.0/floatingips", body: map[string]any{"floatingip": map[string]any{"floating_network_id": s.networkID("private")}}}).
		wantNeutron(http.StatusBadRequest, "HTTPBadRequest", "Bad floatingip request: Network "+s.networkID("private")+" is not a valid external network.")
	s.do(req{method: "DELETE", path: "/network/v2.0/floatingips/" + nf["id"].(string)}).want(http.StatusNoContent)
	// Deleting the server unbinds its pre-made port, which keeps its
	// fixed IP and its floating IP.
	s.do(req{method: "PUT", path: "/network/v2.0/floatingips/" + fipFree, body: `{"floatingip": {"port_id": "` + portMgr + `"}}`}).want(http.StatusOK)
	s.do(req{method: "DELETE", path: "/compute/v2.1/servers/a0000000-0000-4000-8000-000000000001"}).want(http.StatusNoContent)
	s.advance(20 * time.Millisecond)
	p := s.do(req{path: "/network/v2.0/ports/" + portMgr}).want(http.StatusOK).json()["port"].(map[string]any)
	if p["device_id"] != "" || p["status"] != "DOWN" || p["fixed_ips"].([]any)[0].(map[string]any)["ip_address"] != "10.0.0.10" {
		t.Fatalf("port after the server went %v", p)
	}
	if f := s.do(req{path: "/network/v2.0/floatingips/" + fipFree}).want(http.StatusOK).json()["floatingip"].(map[string]any); f["port_id"] != portMgr {
		t.Fatalf("fip after the server went %v", f)
	}
}
