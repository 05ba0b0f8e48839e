package openstack

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// TestOtherEndpoints walks the less travelled endpoints once each.
func TestOtherEndpoints(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, neutronEstate)})
	srv := "a0000000-0000-4000-8000-000000000001"
	member := s.memberToken()
	img := s.imageID("cirros")
	priv := s.networkID("private")
	sub := s.do(req{path: "/network/v2.0/subnets?network_id=" + priv}).want(http.StatusOK).json()["subnets"].([]any)[0].(map[string]any)
	if sub["cidr"] != "10.0.0.0/24" || sub["gateway_ip"] != "10.0.0.1" {
		t.Fatalf("subnet %v", sub)
	}
	for _, tt := range []struct {
		name string
		q    req
		want int
	}{
		{"subnet", req{path: "/network/v2.0/subnets/" + sub["id"].(string)}, 200},
		{"unknown subnet", req{path: "/network/v2.0/subnets/nope"}, 404},
		{"network", req{path: "/network/v2.0/networks/" + priv}, 200},
		{"unknown network", req{path: "/network/v2.0/networks/nope"}, 404},
		{"neutron resources", req{path: "/network/v2.0/"}, 200},
		{"neutron .json", req{path: "/network/v2.0/ports.json"}, 200},
		{"neutron unknown", req{path: "/network/v2.0/routers"}, 404},
		{"neutron bad method", req{method: "PATCH", path: "/network/v2.0/ports"}, 405},
		{"glance image", req{path: "/image/v2/images/" + img}, 200},
		{"glance unknown", req{path: "/image/v2/images/nope"}, 404},
		{"glance versions", req{path: "/image/", noAuth: true}, 300},
		{"glance paging", req{path: "/image/v2/images?limit=1"}, 200},
		{"placement versions", req{path: "/placement/", noAuth: true}, 200},
		{"placement member", req{path: "/placement/resource_providers", token: member}, 403},
		{"placement unknown", req{path: "/placement/resource_providers/nope/usages"}, 404},
		{"nova image", req{path: "/compute/v2.1/images/" + img}, 200},
		{"nova image detail", req{path: "/compute/v2.1/images/detail"}, 200},
		{"nova unknown image", req{path: "/compute/v2.1/images/nope"}, 404},
		{"zones", req{path: "/compute/v2.1/os-availability-zone"}, 200},
		{"zones detail", req{path: "/compute/v2.1/os-availability-zone/detail"}, 200},
		{"zones detail member", req{path: "/compute/v2.1/os-availability-zone/detail", token: member}, 403},
		{"uptime", req{path: "/compute/v2.1/os-hypervisors/1/uptime"}, 200},
		{"uptime 2.88", req{path: "/compute/v2.1/os-hypervisors/1/uptime", mv: "2.88"}, 404},
		{"search", req{path: "/compute/v2.1/os-hypervisors/compute/search"}, 200},
		{"servers of", req{path: "/compute/v2.1/os-hypervisors/compute-1/servers"}, 200},
		{"search 2.53", req{path: "/compute/v2.1/os-hypervisors/compute/search", mv: "2.53"}, 404},
		{"statistics", req{path: "/compute/v2.1/os-hypervisors/statistics"}, 200},
		{"nova bad method", req{method: "PATCH", path: "/compute/v2.1/servers"}, 405},
		{"nova v2", req{path: "/compute/v2/servers"}, 404},
		{"keystone unknown", req{path: "/v3/users"}, 404},
		{"keystone projects", req{path: "/v3/auth/projects"}, 200},
		{"nowhere", req{path: "/nowhere", noAuth: true}, 404},
		{"rename", req{method: "PUT", path: "/compute/v2.1/servers/" + srv, mv: "2.19", body: `{"server": {"name": "renamed", "description": "d"}}`}, 200},
		{"both port and net", req{method: "POST", path: "/compute/v2.1/servers/" + srv + "/os-interface", body: `{"interfaceAttachment": {"port_id": "x", "net_id": "y"}}`}, 400},
		{"ip without net", req{method: "POST", path: "/compute/v2.1/servers/" + srv + "/os-interface", body: `{"interfaceAttachment": {"port_id": "x", "fixed_ips": [{"ip_address": "10.0.0.3"}]}}`}, 400},
		{"port in use", req{method: "POST", path: "/compute/v2.1/servers/" + srv + "/os-interface", body: `{"interfaceAttachment": {"port_id": "` + portMgr + `"}}`}, 409},
		{"unknown port", req{method: "POST", path: "/compute/v2.1/servers/" + srv + "/os-interface", body: `{"interfaceAttachment": {"port_id": "nope"}}`}, 404},
		{"net with ip", req{method: "POST", path: "/compute/v2.1/servers/" + srv + "/os-interface", body: `{"interfaceAttachment": {"net_id": "` + priv + `", "fixed_ips": [{"ip_address": "10.0.0.77"}]}}`}, 200},
		{"interface of another", req{path: "/compute/v2.1/servers/" + srv + "/os-interface/" + portSpare}, 404},
		{"reset state member", req{method: "POST", path: "/compute/v2.1/servers/" + srv + "/action", token: member, body: `{"os-resetState": {"state": "error"}}`}, 403},
		{"reset state", req{method: "POST", path: "/compute/v2.1/servers/" + srv + "/action", body: `{"os-resetState": {"state": "error"}}`}, 202},
		{"reboot bad type", req{method: "POST", path: "/compute/v2.1/servers/" + srv + "/action", body: `{"reboot": {"type": "GENTLE"}}`}, 400},
		{"unknown action", req{path: "/compute/v2.1/servers/" + srv + "/os-instance-actions/req-nope"}, 404},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(tt.q)
			if r.code != tt.want {
				t.Fatalf("%d, want %d: %s", r.code, tt.want, r.raw)
			}
		})
	}
	if got := s.server(srv, "")["status"]; got != "ERROR" {
		t.Fatalf("after reset state %v", got)
	}
	s.do(req{method: "POST", path: "/compute/v2.1/servers/" + srv + "/action", body: `{"forceDelete": null}`}).want(http.StatusAccepted)
	s.advance(20 * time.Millisecond)
	s.do(req{path: "/compute/v2.1/servers/" + srv}).want(http.StatusNotFound)
	// Handler serves without a listener too.
	w := httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(w, httptest.NewRequest("GET", "/v3", nil))
	if w.Code != 200 {
		t.Fatalf("Handler: %d", w.Code)
	}
}
