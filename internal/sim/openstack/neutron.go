package openstack

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Neutron v2.0 (neutron-lib api-ref: networks, subnets, ports, floating
// IPs; neutron/api/v2/base.py for filters, paging and errors).

func neutronNotFound() *response {
	return neutronError(http.StatusNotFound, "HTTPNotFound", "The resource could not be found.")
}

func badRequest(format string, args ...any) *response {
	return neutronError(http.StatusBadRequest, "HTTPBadRequest", format, args...)
}

func (c *call) neutron() *response {
	segs := segments(strings.TrimPrefix(c.r.URL.Path, networkPrefix))
	method := c.r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if len(segs) == 0 {
		return jsonResp(http.StatusOK, map[string]any{"versions": []any{map[string]any{
			"id": "v2.0", "status": "CURRENT",
			"links": []any{map[string]any{"href": c.base + networkPrefix + "/v2.0/", "rel": "self"}},
		}}})
	}
	if segs[0] != "v2.0" {
		return neutronNotFound()
	}
	if r := c.authenticate(); r != nil {
		return r
	}
	segs = segs[1:]
	// Neutron accepts a ".json" suffix on the last segment.
	if n := len(segs); n > 0 {
		segs[n-1] = strings.TrimSuffix(segs[n-1], ".json")
	}
	if len(segs) == 0 {
		var res []any
		for _, r := range []string{"network", "subnet", "port", "floatingip"} {
			res = append(res, map[string]any{"name": r, "collection": r + "s", "links": []any{map[string]any{"href": c.base + networkPrefix + "/v2.0/" + r + "s", "rel": "self"}}})
		}
		return jsonResp(http.StatusOK, map[string]any{"resources": res})
	}
	type handlers struct{ list, create, show, update, del func() *response }
	table := map[string]handlers{
		"networks":    {list: c.listNetworks, show: c.showNetwork},
		"subnets":     {list: c.listSubnets, show: c.showSubnet},
		"ports":       {list: c.listPorts, create: c.createPort, show: c.showPort, update: c.updatePort, del: c.deletePortAPI},
		"floatingips": {list: c.listFIPs, create: c.createFIP, show: c.showFIP, update: c.updateFIP, del: c.deleteFIP},
	}
	h, ok := table[segs[0]]
	if !ok || len(segs) > 2 {
		return neutronNotFound()
	}
	var fn func() *response
	if len(segs) == 1 {
		switch method {
		case http.MethodGet:
			fn = h.list
		case http.MethodPost:
			fn = h.create
		}
	} else {
		c.args = segs[1:]
		switch method {
		case http.MethodGet:
			fn = h.show
		case http.MethodPut:
			fn = h.update
		case http.MethodDelete:
			fn = h.del
		}
	}
	if fn == nil {
		return neutronError(http.StatusMethodNotAllowed, "HTTPMethodNotAllowed", "The method is not allowed for the requested resource.")
	}
	return fn()
}

// visibility --------------------------------------------------------------

func (c *call) seesProject(projectID string) bool {
	return c.tok.isAdmin() || projectID == c.tok.projectID
}

func (c *call) seesNetwork(n *network) bool {
	return c.seesProject(n.projectID) || n.shared || n.external
}

// views ---------------------------------------------------------------------

func (c *call) networkJSON(n *network) map[string]any {
	subs := []any{}
	for _, s := range n.subnets {
		subs = append(subs, s.id)
	}
	m := map[string]any{
		"id": n.id, "name": n.name, "tenant_id": n.projectID, "project_id": n.projectID, "admin_state_up": true,
		"status": "ACTIVE", "subnets": subs, "shared": n.shared, "router:external": n.external, "mtu": n.mtu,
		"availability_zone_hints": []any{}, "availability_zones": []any{"nova"}, "ipv4_address_scope": nil,
		"ipv6_address_scope": nil, "description": "", "port_security_enabled": n.portSecurity, "tags": []any{},
		"created_at": isoTime(n.created), "updated_at": isoTime(n.updated), "revision_number": n.revision,
		"l2_adjacency": true, "qos_policy_id": nil, "dns_domain": "",
	}
	if n.external {
		m["is_default"] = false
	}
	if c.tok.isAdmin() {
		m["provider:network_type"] = "geneve"
		m["provider:physical_network"] = nil
		m["provider:segmentation_id"] = 1000 + len(n.name)
		if n.external {
			m["provider:network_type"] = "flat"
			m["provider:physical_network"] = "public"
			m["provider:segmentation_id"] = nil
		}
	}
	return m
}

func (c *call) subnetJSON(s *subnet) map[string]any {
	first := s.prefix.Addr().Next()
	last := first
	for a := first; s.prefix.Contains(a.Next()); a = a.Next() {
		last = a
	}
	if first == s.gateway {
		first = first.Next()
	}
	return map[string]any{
		"id": s.id, "name": s.name, "network_id": s.networkID, "tenant_id": s.projectID, "project_id": s.projectID,
		"ip_version": 4, "cidr": s.prefix.String(), "gateway_ip": s.gateway.String(), "enable_dhcp": true,
		"allocation_pools": []any{map[string]any{"start": first.String(), "end": last.String()}},
		"dns_nameservers":  []any{}, "host_routes": []any{}, "ipv6_ra_mode": nil, "ipv6_address_mode": nil,
		"subnetpool_id": nil, "description": "", "service_types": []any{}, "tags": []any{},
		"created_at": isoTime(s.created), "updated_at": isoTime(s.created), "revision_number": 0,
	}
}

func (c *call) portJSON(p *port) map[string]any {
	fixed := []any{}
	for _, f := range p.fixedIPs {
		fixed = append(fixed, map[string]any{"subnet_id": f.subnetID, "ip_address": f.ip})
	}
	sgs := []any{}
	for _, g := range p.securityGroups {
		sgs = append(sgs, g)
	}
	portSecurity := true
	if n := c.st.network(p.networkID); n != nil {
		portSecurity = n.portSecurity
	}
	m := map[string]any{
		"id": p.id, "name": p.name, "network_id": p.networkID, "tenant_id": p.projectID, "project_id": p.projectID,
		"mac_address": p.mac, "admin_state_up": p.adminUp, "status": p.status, "device_id": p.deviceID,
		"device_owner": p.deviceOwner, "fixed_ips": fixed, "allowed_address_pairs": []any{}, "extra_dhcp_opts": []any{},
		"security_groups": sgs, "description": p.description, "binding:vnic_type": "normal",
		"port_security_enabled": portSecurity, "dns_name": "", "tags": []any{}, "created_at": isoTime(p.created),
		"updated_at": isoTime(p.updated), "revision_number": p.revision, "qos_policy_id": nil,
		"qos_network_policy_id": nil, "propagate_uplink_status": false, "resource_request": nil,
	}
	if c.tok.isAdmin() {
		m["binding:host_id"] = p.bindingHost
		m["binding:profile"] = map[string]any{}
		if p.bindingHost != "" {
			m["binding:vif_type"] = "ovs"
			m["binding:vif_details"] = map[string]any{"port_filter": true, "connectivity": "l2", "bridge_name": "br-int", "datapath_type": "system"}
		} else {
			m["binding:vif_type"] = "unbound"
			m["binding:vif_details"] = map[string]any{}
		}
	}
	return m
}

func (c *call) fipJSON(f *floatingIP) map[string]any {
	m := map[string]any{
		"id": f.id, "tenant_id": f.projectID, "project_id": f.projectID, "floating_network_id": f.networkID,
		"router_id": nullString(f.routerID), "fixed_ip_address": nullString(f.fixedIP), "floating_ip_address": f.address,
		"port_id": nullString(f.portID), "status": f.status, "description": f.description, "tags": []any{},
		"created_at": isoTime(f.created), "updated_at": isoTime(f.updated), "revision_number": f.revision,
		"qos_policy_id": nil, "qos_network_policy_id": nil, "port_forwardings": []any{}, "port_details": nil,
	}
	if p := c.st.port(f.portID); p != nil {
		m["port_details"] = map[string]any{
			"name": p.name, "network_id": p.networkID, "mac_address": p.mac, "admin_state_up": p.adminUp,
			"status": p.status, "device_id": p.deviceID, "device_owner": p.deviceOwner,
		}
	}
	return m
}

// listing: filters on any attribute (exact match, repeated values OR),
// fields, limit/marker paging with <collection>_links ---------------------

var pagingParams = map[string]bool{"fields": true, "limit": true, "marker": true, "sort_key": true, "sort_dir": true, "page_reverse": true}

func filterValue(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case bool:
		return strconv.FormatBool(x)
	}
	return fmt.Sprint(v)
}

func (c *call) matches(item map[string]any) bool {
	for k, vals := range c.query {
		if pagingParams[k] {
			continue
		}
		if k == "fixed_ips" {
			if !matchFixedIPs(item["fixed_ips"], vals) {
				return false
			}
			continue
		}
		v, ok := item[k]
		if !ok {
			continue // Neutron ignores filters on unknown attributes
		}
		found := false
		for _, want := range vals {
			got := filterValue(v)
			if _, isBool := v.(bool); isBool {
				want = strings.ToLower(want)
			}
			if got == want {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func matchFixedIPs(v any, filters []string) bool {
	ips, _ := v.([]any)
	for _, f := range filters {
		key, want, _ := strings.Cut(f, "=")
		found := false
		for _, e := range ips {
			m, _ := e.(map[string]any)
			if m[key] == want {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

func (c *call) listOf(collection string, items []map[string]any) *response {
	var sel []map[string]any
	for _, it := range items {
		if c.matches(it) {
			sel = append(sel, it)
		}
	}
	if dir := c.query.Get("sort_dir"); c.query.Get("sort_key") != "" {
		key := c.query.Get("sort_key")
		sort.SliceStable(sel, func(i, j int) bool {
			a, b := filterValue(sel[i][key]), filterValue(sel[j][key])
			if dir == "desc" {
				return a > b
			}
			return a < b
		})
	}
	lo, hi := 0, len(sel)
	next := false
	if m := c.query.Get("marker"); m != "" {
		found := false
		for i, it := range sel {
			if it["id"] == m {
				lo, found = i+1, true
			}
		}
		if !found {
			return neutronError(http.StatusNotFound, "HTTPNotFound", "Marker %s could not be found.", m)
		}
	}
	limit := 0
	if l := c.query.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 0 {
			return badRequest("Invalid input for limit. Reason: '%s' is not an integer.", l)
		}
		limit = n
	}
	if limit > 0 && lo+limit < hi {
		hi = lo + limit
		next = true
	}
	if lo > hi {
		lo = hi
	}
	fields := c.query["fields"]
	out := []any{}
	for _, it := range sel[lo:hi] {
		if len(fields) > 0 {
			proj := map[string]any{}
			for _, f := range fields {
				if v, ok := it[f]; ok {
					proj[f] = v
				}
			}
			it = proj
		}
		out = append(out, it)
	}
	body := map[string]any{collection: out}
	if next {
		q := url.Values{}
		for k, vs := range c.query {
			q[k] = vs
		}
		q.Set("marker", fmt.Sprint(sel[hi-1]["id"]))
		body[collection+"_links"] = []any{map[string]any{"rel": "next", "href": c.base + networkPrefix + "/v2.0/" + collection + "?" + q.Encode()}}
	}
	return jsonResp(http.StatusOK, body)
}

// networks and subnets (read-only) ------------------------------------------

func (c *call) listNetworks() *response {
	var items []map[string]any
	for _, n := range c.st.networks {
		if c.seesNetwork(n) {
			items = append(items, c.networkJSON(n))
		}
	}
	return c.listOf("networks", items)
}

func (c *call) showNetwork() *response {
	n := c.st.network(c.args[0])
	if n == nil || !c.seesNetwork(n) {
		return neutronError(http.StatusNotFound, "NetworkNotFound", "Network %s could not be found.", c.args[0])
	}
	return jsonResp(http.StatusOK, map[string]any{"network": c.networkJSON(n)})
}

func (c *call) listSubnets() *response {
	var items []map[string]any
	for _, s := range c.st.subnets {
		if n := c.st.network(s.networkID); n != nil && c.seesNetwork(n) {
			items = append(items, c.subnetJSON(s))
		}
	}
	return c.listOf("subnets", items)
}

func (c *call) showSubnet() *response {
	s := c.st.subnet(c.args[0])
	if s == nil || !c.seesNetwork(c.st.network(s.networkID)) {
		return neutronError(http.StatusNotFound, "SubnetNotFound", "Subnet %s could not be found.", c.args[0])
	}
	return jsonResp(http.StatusOK, map[string]any{"subnet": c.subnetJSON(s)})
}

// ports ---------------------------------------------------------------------

func (c *call) visiblePort(id string) (*port, *response) {
	p := c.st.port(id)
	if p == nil || !c.seesProject(p.projectID) {
		return nil, neutronError(http.StatusNotFound, "PortNotFound", "Port %s could not be found.", id)
	}
	return p, nil
}

func (c *call) listPorts() *response {
	var items []map[string]any
	for _, p := range c.st.ports {
		if c.seesProject(p.projectID) {
			items = append(items, c.portJSON(p))
		}
	}
	return c.listOf("ports", items)
}

func (c *call) showPort() *response {
	p, r := c.visiblePort(c.args[0])
	if r != nil {
		return r
	}
	return jsonResp(http.StatusOK, map[string]any{"port": c.portJSON(p)})
}

// resourceBody decodes {"<resource>": {...}}.
func (c *call) resourceBody(resource string) (map[string]any, *response) {
	v, ok := c.jsonBody()
	if !ok {
		return nil, badRequest("Malformed request body")
	}
	body, _ := v.(map[string]any)
	inner, ok := body[resource].(map[string]any)
	if !ok {
		return nil, badRequest("Resource body required")
	}
	return inner, nil
}

// checkAttrs rejects unknown and read-only attributes, as base.py does.
func checkAttrs(body map[string]any, writable, readOnly []string) *response {
	var unknown []string
	for k := range body {
		ok := false
		for _, w := range writable {
			if k == w {
				ok = true
			}
		}
		if ok {
			continue
		}
		for _, r := range readOnly {
			if k == r {
				return badRequest("Cannot update read-only attribute %s", k)
			}
		}
		unknown = append(unknown, k)
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return badRequest("Unrecognized attribute(s) '%s'", strings.Join(unknown, ", "))
	}
	return nil
}

func stringAttr(body map[string]any, name string, maxLen int) (string, bool, *response) {
	v, ok := body[name]
	if !ok {
		return "", false, nil
	}
	s, isStr := v.(string)
	if !isStr || len(s) > maxLen {
		return "", false, badRequest("Invalid input for %s. Reason: '%v' is not a valid string.", name, v)
	}
	return s, true, nil
}

// ifMatch checks "If-Match: revision_number=N".
func (c *call) ifMatch(current int) *response {
	h := c.r.Header.Get("If-Match")
	if h == "" {
		return nil
	}
	for _, part := range strings.Split(h, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		if k != "revision_number" {
			continue
		}
		n, err := strconv.Atoi(v)
		if err == nil && n != current {
			return neutronError(http.StatusPreconditionFailed, "RevisionNumberConstraintFailed", "Constrained to %d, but current revision is %d", n, current)
		}
	}
	return nil
}

// fixedIPsAttr resolves a fixed_ips list on net for port p (nil when new).
func (c *call) fixedIPsAttr(v any, net *network, p *port) ([]fixedIP, *response) {
	list, ok := v.([]any)
	if !ok {
		return nil, badRequest("Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '%v'.", v)
	}
	var out []fixedIP
	for _, e := range list {
		m, ok := e.(map[string]any)
		if !ok {
			return nil, badRequest("Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '%v'.", e)
		}
		subID, _ := m["subnet_id"].(string)
		ip, _ := m["ip_address"].(string)
		var sb *subnet
		if subID != "" {
			sb = c.st.subnet(subID)
			if sb == nil || sb.networkID != net.id {
				return nil, badRequest("Invalid input for operation: Failed to create port on network %s, because fixed_ips included invalid subnet %s.", net.id, subID)
			}
		}
		if ip != "" {
			if !validIP(ip) {
				return nil, badRequest("Invalid input for fixed_ips. Reason: '%s' is not a valid IP address.", ip)
			}
			found := c.st.subnetFor(net, ip)
			if found == nil || (sb != nil && found != sb) {
				return nil, badRequest("Invalid input for operation: IP address %s is not a valid IP for the specified subnet.", ip)
			}
			sb = found
			mine := false
			if p != nil {
				for _, f := range p.fixedIPs {
					if f.ip == ip {
						mine = true
					}
				}
			}
			if !mine && c.st.ipInUse(sb.id, ip) {
				return nil, neutronError(http.StatusConflict, "IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", ip, sb.id)
			}
		} else {
			if sb == nil {
				return nil, badRequest("Invalid input for fixed_ips. Reason: Invalid data format for fixed IP: '%v'.", e)
			}
			ip = c.st.nextIP(sb)
			if ip == "" {
				return nil, neutronError(http.StatusConflict, "IpAddressGenerationFailure", "No more IP addresses available on network %s.", net.id)
			}
		}
		out = append(out, fixedIP{subnetID: sb.id, ip: ip})
	}
	return out, nil
}

var portWritable = []string{"name", "description", "admin_state_up", "device_id", "device_owner", "fixed_ips",
	"security_groups", "allowed_address_pairs", "binding:host_id", "binding:profile", "binding:vnic_type",
	"port_security_enabled", "extra_dhcp_opts", "dns_name", "qos_policy_id", "propagate_uplink_status", "mac_address"}

var portReadOnly = []string{"id", "network_id", "status", "tenant_id", "project_id", "created_at", "updated_at", "revision_number", "binding:vif_type", "binding:vif_details"}

func (c *call) createPort() *response {
	body, r := c.resourceBody("port")
	if r != nil {
		return r
	}
	if r := checkAttrs(body, append(append([]string{}, portWritable...), "network_id", "tenant_id", "project_id"), []string{"id", "status"}); r != nil {
		return r
	}
	netID, _ := body["network_id"].(string)
	if netID == "" {
		return badRequest("Failed to parse request. Required attribute 'network_id' not specified")
	}
	net := c.st.network(netID)
	if net == nil || !c.seesNetwork(net) {
		return neutronError(http.StatusNotFound, "NetworkNotFound", "Network %s could not be found.", netID)
	}
	project := c.tok.projectID
	if pr, _ := body["project_id"].(string); pr != "" && c.tok.isAdmin() {
		project = pr
	}
	p := &port{id: c.st.uuid(), networkID: net.id, projectID: project, status: portStatusDown, adminUp: true, created: c.now, updated: c.now, revision: 1}
	if r := c.applyPortAttrs(p, net, body, true); r != nil {
		return r
	}
	if p.mac == "" {
		p.mac = c.st.mac()
	}
	if _, given := body["fixed_ips"]; !given && len(net.subnets) > 0 {
		ip := c.st.nextIP(net.subnets[0])
		if ip == "" {
			return neutronError(http.StatusConflict, "IpAddressGenerationFailure", "No more IP addresses available on network %s.", net.id)
		}
		p.fixedIPs = []fixedIP{{subnetID: net.subnets[0].id, ip: ip}}
	}
	if p.securityGroups == nil {
		p.securityGroups = []string{}
		if pr := c.st.project(project); pr != nil && net.portSecurity {
			p.securityGroups = []string{pr.sgID}
		}
	}
	c.st.ports = append(c.st.ports, p)
	c.syncPortDevice(p)
	return jsonResp(http.StatusCreated, map[string]any{"port": c.portJSON(p)})
}

// applyPortAttrs validates and applies writable attributes.
func (c *call) applyPortAttrs(p *port, net *network, body map[string]any, creating bool) *response {
	for _, k := range []string{"name", "description", "device_owner"} {
		s, ok, r := stringAttr(body, k, 255)
		if r != nil {
			return r
		}
		if !ok {
			continue
		}
		switch k {
		case "name":
			p.name = s
		case "description":
			p.description = s
		case "device_owner":
			p.deviceOwner = s
		}
	}
	if s, ok, r := stringAttr(body, "device_id", 255); r != nil {
		return r
	} else if ok {
		p.deviceID = s
	}
	if v, ok := body["admin_state_up"]; ok {
		b, isBool := v.(bool)
		if !isBool {
			return badRequest("Invalid input for admin_state_up. Reason: '%v' is not a valid boolean value.", v)
		}
		p.adminUp = b
	}
	if v, ok := body["fixed_ips"]; ok {
		ips, r := c.fixedIPsAttr(v, net, p)
		if r != nil {
			return r
		}
		p.fixedIPs = ips
	}
	if v, ok := body["security_groups"]; ok {
		list, isList := v.([]any)
		if !isList {
			return badRequest("Invalid input for security_groups. Reason: '%v' is not a list.", v)
		}
		p.securityGroups = []string{}
		for _, g := range list {
			s, _ := g.(string)
			p.securityGroups = append(p.securityGroups, s)
		}
	}
	if v, ok := body["mac_address"]; ok {
		s, _ := v.(string)
		if !creating && p.bindingHost != "" {
			return neutronError(http.StatusConflict, "PortBound", "Unable to complete operation on port %s, port is already bound, port type: ovs, old_mac %s, new_mac %s.", p.id, p.mac, s)
		}
		p.mac = s
	}
	if v, ok := body["binding:host_id"]; ok {
		if !c.tok.isAdmin() {
			return neutronError(http.StatusForbidden, "PolicyNotAuthorized", "((rule:update_port and rule:update_port:binding:host_id) is disallowed by policy")
		}
		p.bindingHost, _ = v.(string)
	}
	return nil
}

// syncPortDevice keeps a port's status and binding in line with its
// device: a server's port follows the server, a cleared device_id is
// unbound.
func (c *call) syncPortDevice(p *port) {
	if p.deviceID == "" {
		p.bindingHost = ""
		p.status = portStatusDown
		return
	}
	if srv := c.st.server(p.deviceID); srv != nil {
		if p.deviceOwner == "" {
			p.deviceOwner = deviceOwnerNova + srv.az
		}
		p.bindingHost = srv.host
		if srv.host != "" && (srv.vmState == vmActive || srv.vmState == vmStopped) {
			p.status = portStatusActive
		}
		return
	}
	if p.deviceOwner != "" && !strings.HasPrefix(p.deviceOwner, deviceOwnerNova) {
		p.status = portStatusActive
	}
}

func (c *call) updatePort() *response {
	p, r := c.visiblePort(c.args[0])
	if r != nil {
		return r
	}
	body, r := c.resourceBody("port")
	if r != nil {
		return r
	}
	if r := checkAttrs(body, portWritable, portReadOnly); r != nil {
		return r
	}
	if r := c.ifMatch(p.revision); r != nil {
		return r
	}
	// Validate on a copy so that a rejected update changes nothing.
	cp := *p
	cp.fixedIPs = append([]fixedIP(nil), p.fixedIPs...)
	cp.securityGroups = append([]string(nil), p.securityGroups...)
	if r := c.applyPortAttrs(&cp, c.st.network(p.networkID), body, false); r != nil {
		return r
	}
	oldIPs := p.fixedIPs
	*p = cp
	if _, ok := body["device_id"]; ok {
		c.syncPortDevice(p)
	}
	// Floating IPs on a fixed IP that went away are disassociated.
	for _, f := range c.st.fipsOfPort(p.id) {
		still := false
		for _, ip := range p.fixedIPs {
			if ip.ip == f.fixedIP {
				still = true
			}
		}
		if !still && len(oldIPs) > 0 {
			f.portID, f.fixedIP, f.routerID, f.status = "", "", "", "DOWN"
			f.updated = c.now
			f.revision++
		}
	}
	p.updated = c.now
	p.revision++
	return jsonResp(http.StatusOK, map[string]any{"port": c.portJSON(p)})
}

func (c *call) deletePortAPI() *response {
	p, r := c.visiblePort(c.args[0])
	if r != nil {
		return r
	}
	for _, f := range c.st.fipsOfPort(p.id) {
		f.portID, f.fixedIP, f.routerID, f.status = "", "", "", "DOWN"
		f.updated = c.now
		f.revision++
	}
	c.st.deletePort(p)
	return emptyResp(http.StatusNoContent)
}

// floating IPs --------------------------------------------------------------

func (c *call) visibleFIP(id string) (*floatingIP, *response) {
	f := c.st.fip(id)
	if f == nil || !c.seesProject(f.projectID) {
		return nil, neutronError(http.StatusNotFound, "FloatingIPNotFound", "Floating IP %s could not be found", id)
	}
	return f, nil
}

func (c *call) listFIPs() *response {
	var items []map[string]any
	for _, f := range c.st.fips {
		if c.seesProject(f.projectID) {
			items = append(items, c.fipJSON(f))
		}
	}
	return c.listOf("floatingips", items)
}

func (c *call) showFIP() *response {
	f, r := c.visibleFIP(c.args[0])
	if r != nil {
		return r
	}
	return jsonResp(http.StatusOK, map[string]any{"floatingip": c.fipJSON(f)})
}

// associate points f at a port (or, with portID "", disassociates it), the
// way neutron's l3_db _update_fip_assoc checks it.
func (c *call) associate(f *floatingIP, portID any, fixedRaw any) *response {
	if portID == nil || portID == "" {
		f.portID, f.fixedIP, f.routerID, f.status = "", "", "", "DOWN"
		return nil
	}
	pid, ok := portID.(string)
	if !ok {
		return badRequest("Invalid input for port_id. Reason: '%v' is not a valid UUID.", portID)
	}
	p := c.st.port(pid)
	if p == nil || !c.seesProject(p.projectID) {
		return neutronError(http.StatusNotFound, "PortNotFound", "Port %s could not be found.", pid)
	}
	fixed, _ := fixedRaw.(string)
	if fixed == "" {
		if len(p.fixedIPs) == 0 {
			return badRequest("Bad floatingip request: Port %s does not have any IP addresses.", p.id)
		}
		fixed = p.fixedIPs[0].ip
	} else {
		has := false
		for _, ip := range p.fixedIPs {
			if ip.ip == fixed {
				has = true
			}
		}
		if !has {
			return badRequest("Bad floatingip request: Port %s does not have fixed ip %s.", p.id, fixed)
		}
	}
	for _, other := range c.st.fips {
		if other != f && other.portID == p.id && other.fixedIP == fixed && other.networkID == f.networkID {
			return neutronError(http.StatusConflict, "FloatingIPPortAlreadyAssociated",
				"Cannot associate floating IP %s (%s) with port %s using fixed IP %s, as that fixed IP already has a floating IP on external network %s.",
				f.address, f.id, p.id, fixed, f.networkID)
		}
	}
	net := c.st.network(f.networkID)
	moved := f.portID != "" && f.portID != p.id
	f.portID, f.fixedIP, f.routerID = p.id, fixed, net.routerID
	if f.status != "ACTIVE" || moved {
		f.status = "DOWN"
		st := c.st
		want := p.id
		st.after(c.now.Add(c.s.timing.FloatingIP), "", nil, func(at time.Time) {
			if f.portID == want {
				f.status = "ACTIVE"
			}
		})
	}
	return nil
}

func (c *call) updateFIP() *response {
	f, r := c.visibleFIP(c.args[0])
	if r != nil {
		return r
	}
	body, r := c.resourceBody("floatingip")
	if r != nil {
		return r
	}
	if r := checkAttrs(body, []string{"port_id", "fixed_ip_address", "description", "qos_policy_id"},
		[]string{"id", "floating_ip_address", "floating_network_id", "router_id", "status", "tenant_id", "project_id"}); r != nil {
		return r
	}
	if r := c.ifMatch(f.revision); r != nil {
		return r
	}
	if d, ok, r := stringAttr(body, "description", 255); r != nil {
		return r
	} else if ok {
		f.description = d
	}
	if pid, ok := body["port_id"]; ok {
		if r := c.associate(f, pid, body["fixed_ip_address"]); r != nil {
			return r
		}
	}
	f.updated = c.now
	f.revision++
	return jsonResp(http.StatusOK, map[string]any{"floatingip": c.fipJSON(f)})
}

func (c *call) createFIP() *response {
	body, r := c.resourceBody("floatingip")
	if r != nil {
		return r
	}
	if r := checkAttrs(body, []string{"floating_network_id", "port_id", "fixed_ip_address", "floating_ip_address", "description", "subnet_id", "tenant_id", "project_id", "qos_policy_id", "dns_name", "dns_domain"}, []string{"id", "status", "router_id"}); r != nil {
		return r
	}
	netID, _ := body["floating_network_id"].(string)
	if netID == "" {
		return badRequest("Failed to parse request. Required attribute 'floating_network_id' not specified")
	}
	net := c.st.network(netID)
	if net == nil {
		return neutronError(http.StatusNotFound, "NetworkNotFound", "Network %s could not be found.", netID)
	}
	if !net.external || len(net.subnets) == 0 {
		return badRequest("Bad floatingip request: Network %s is not a valid external network.", netID)
	}
	project := c.tok.projectID
	if pr, _ := body["project_id"].(string); pr != "" && c.tok.isAdmin() {
		project = pr
	}
	addr, _ := body["floating_ip_address"].(string)
	if addr != "" {
		sb := c.st.subnetFor(net, addr)
		if sb == nil {
			return badRequest("Invalid input for operation: IP address %s is not a valid IP for the specified subnet.", addr)
		}
		if c.st.ipInUse(sb.id, addr) {
			return neutronError(http.StatusConflict, "IpAddressAlreadyAllocated", "IP address %s already allocated in subnet %s", addr, sb.id)
		}
	} else {
		for _, sb := range net.subnets {
			if addr = c.st.nextIP(sb); addr != "" {
				break
			}
		}
		if addr == "" {
			return neutronError(http.StatusConflict, "IpAddressGenerationFailure", "No more IP addresses available on network %s.", netID)
		}
	}
	f := &floatingIP{id: c.st.uuid(), address: addr, networkID: net.id, projectID: project, status: "DOWN", created: c.now, updated: c.now}
	f.description, _ = body["description"].(string)
	if pid, ok := body["port_id"]; ok {
		if r := c.associate(f, pid, body["fixed_ip_address"]); r != nil {
			return r
		}
	}
	c.st.fips = append(c.st.fips, f)
	return jsonResp(http.StatusCreated, map[string]any{"floatingip": c.fipJSON(f)})
}

func (c *call) deleteFIP() *response {
	f, r := c.visibleFIP(c.args[0])
	if r != nil {
		return r
	}
	kept := c.st.fips[:0]
	for _, x := range c.st.fips {
		if x != f {
			kept = append(kept, x)
		}
	}
	c.st.fips = kept
	return emptyResp(http.StatusNoContent)
}
