package openstack

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Servers (nova/api/openstack/compute/servers.py, views/servers.py,
// compute/api.py). The sources followed are in doc.go.

var progressStatuses = map[string]bool{"ACTIVE": true, "BUILD": true, "REBUILD": true, "RESIZE": true, "VERIFY_RESIZE": true, "MIGRATING": true}

const noValidHost = "No valid host was found. There are not enough hosts available."

// visibleServer finds a server the caller may see: its project's, or any
// for an admin (Nova's get_instance with the project-scoped context).
func (c *call) visibleServer(id string) (*server, *response) {
	s := c.st.server(id)
	if s == nil || (!c.tok.isAdmin() && s.projectID != c.tok.projectID) {
		return nil, novaError(http.StatusNotFound, "Instance %s could not be found.", id)
	}
	return s, nil
}

func (c *call) imageRef(id string) any {
	if id == "" {
		return ""
	}
	return map[string]any{"id": id, "links": []any{map[string]any{"rel": "bookmark", "href": c.base + computePrefix + "/images/" + id}}}
}

func (c *call) flavorRef(s *server) any {
	f := s.flavor
	if !c.mv.at(47) {
		return map[string]any{"id": f.id, "links": []any{map[string]any{"rel": "bookmark", "href": c.base + computePrefix + "/flavors/" + f.id}}}
	}
	specs := map[string]any{}
	for k, v := range f.extraSpecs {
		specs[k] = v
	}
	return map[string]any{"vcpus": f.vcpus, "ram": f.ram, "disk": f.disk, "ephemeral": f.ephemeral, "swap": f.swap, "original_name": f.name, "extra_specs": specs}
}

// addresses is the server's network info: fixed IPs of its ports and the
// floating IPs on them, by network name.
func (c *call) addresses(s *server) map[string]any {
	out := map[string]any{}
	for _, p := range c.st.serverPorts(s) {
		net := c.st.network(p.networkID)
		list, _ := out[net.name].([]any)
		if list == nil {
			list = []any{}
		}
		for _, f := range p.fixedIPs {
			list = append(list, map[string]any{"version": 4, "addr": f.ip, "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": p.mac})
			for _, fip := range c.st.fipsOfPort(p.id) {
				if fip.fixedIP == f.ip {
					list = append(list, map[string]any{"version": 4, "addr": fip.address, "OS-EXT-IPS:type": "floating", "OS-EXT-IPS-MAC:mac_addr": p.mac})
				}
			}
		}
		out[net.name] = list
	}
	return out
}

// hostStatus is the 2.16 host_status: UP, DOWN, MAINTENANCE or "".
func (c *call) hostStatus(s *server) string {
	h := c.st.host(s.host)
	if h == nil {
		return ""
	}
	switch {
	case !h.svc.up():
		return "DOWN"
	case h.svc.disabled:
		return "MAINTENANCE"
	}
	return "UP"
}

var hostnameSanitizer = regexp.MustCompile(`[^a-z0-9-]+`)

func sanitizeHostname(name string) string {
	h := hostnameSanitizer.ReplaceAllString(strings.ToLower(name), "-")
	h = strings.Trim(h, "-")
	if h == "" {
		return "server"
	}
	if len(h) > 63 {
		h = h[:63]
	}
	return h
}

// serverJSON is views/servers.py ViewBuilder.basic / show with the
// extended attributes Nova merges in.
func (c *call) serverJSON(s *server, detail bool) map[string]any {
	m := map[string]any{"id": s.id, "name": s.name, "links": c.links("servers", s.id)}
	if !detail {
		return m
	}
	admin := c.tok.isAdmin()
	status := s.status()
	meta := map[string]any{}
	for k, v := range s.metadata {
		meta[k] = v
	}
	m["status"] = status
	m["tenant_id"] = s.projectID
	m["user_id"] = s.userID
	m["metadata"] = meta
	m["hostId"] = hostID(s.projectID, s.host)
	m["image"] = c.imageRef(s.imageID)
	m["flavor"] = c.flavorRef(s)
	m["created"] = isoTime(s.created)
	m["updated"] = isoTime(s.updated)
	m["addresses"] = c.addresses(s)
	m["accessIPv4"] = s.accessIPv4
	m["accessIPv6"] = s.accessIPv6
	m["OS-DCF:diskConfig"] = "MANUAL"
	if progressStatuses[status] {
		m["progress"] = 0
	}
	if (status == "ERROR" || status == "DELETED") && s.fault != nil {
		f := map[string]any{"code": s.fault.code, "created": isoTime(s.fault.created), "message": s.fault.message}
		if s.fault.details != "" && (admin || s.fault.code != 500) {
			f["details"] = s.fault.details
		}
		m["fault"] = f
	}
	m["key_name"] = nullString(s.keyName)
	m["config_drive"] = ""
	m["OS-EXT-AZ:availability_zone"] = s.az
	m["OS-EXT-STS:task_state"] = nullString(s.taskState)
	m["OS-EXT-STS:vm_state"] = s.vmState
	m["OS-EXT-STS:power_state"] = s.power
	m["OS-SRV-USG:launched_at"] = nullTime(s.launched)
	m["OS-SRV-USG:terminated_at"] = nullTime(s.terminated)
	var groups []any
	for _, p := range c.st.serverPorts(s) {
		if len(p.securityGroups) > 0 {
			groups = []any{map[string]any{"name": "default"}}
			break
		}
	}
	if groups != nil {
		m["security_groups"] = groups
	}
	m["os-extended-volumes:volumes_attached"] = []any{}
	if admin {
		m["OS-EXT-SRV-ATTR:host"] = nullString(s.host)
		m["OS-EXT-SRV-ATTR:instance_name"] = s.instanceName
		m["OS-EXT-SRV-ATTR:hypervisor_hostname"] = nullString(s.node)
		if c.mv.at(3) {
			m["OS-EXT-SRV-ATTR:reservation_id"] = s.reservationID
			m["OS-EXT-SRV-ATTR:launch_index"] = 0
			m["OS-EXT-SRV-ATTR:hostname"] = sanitizeHostname(s.name)
			m["OS-EXT-SRV-ATTR:kernel_id"] = ""
			m["OS-EXT-SRV-ATTR:ramdisk_id"] = ""
			m["OS-EXT-SRV-ATTR:root_device_name"] = "/dev/vda"
			m["OS-EXT-SRV-ATTR:user_data"] = nullString(s.userData)
		}
		if c.mv.at(16) {
			m["host_status"] = c.hostStatus(s)
		}
	} else if c.mv.at(90) {
		m["OS-EXT-SRV-ATTR:hostname"] = sanitizeHostname(s.name)
	}
	if c.mv.at(9) {
		m["locked"] = s.locked
	}
	if c.mv.at(19) {
		if s.description != nil {
			m["description"] = *s.description
		} else {
			m["description"] = nil
		}
	}
	if c.mv.at(26) {
		m["tags"] = []any{}
	}
	if c.mv.at(63) {
		m["trusted_image_certificates"] = nil
	}
	if c.mv.at(71) {
		m["server_groups"] = []any{}
	}
	if c.mv.at(73) {
		m["locked_reason"] = nil
	}
	return m
}

// listServers is GET /servers and /servers/detail.
func (c *call) listServers(detail bool) *response {
	admin := c.tok.isAdmin()
	all := false
	if vals, ok := c.query["all_tenants"]; ok {
		all = true
		if vals[0] != "" {
			b, ok := queryBool(vals[0])
			if !ok {
				return novaError(http.StatusBadRequest, "Invalid input for field/attribute all_tenants. Value: %s. '%s' is not valid boolean value", vals[0], vals[0])
			}
			all = b
		}
	}
	if all {
		rule := "os_compute_api:servers:index:get_all_tenants"
		if detail {
			rule = "os_compute_api:servers:detail:get_all_tenants"
		}
		if r := c.policy(rule); r != nil {
			return r
		}
	}
	p, errResp := c.pageParams()
	if errResp != nil {
		return errResp
	}
	project := c.tok.projectID
	if admin {
		if t := orDefault(c.query.Get("project_id"), c.query.Get("tenant_id")); t != "" {
			project, all = t, false
		}
	}
	var nameRE *regexp.Regexp
	if n := c.query.Get("name"); n != "" {
		re, err := regexp.Compile(n)
		if err != nil {
			re = regexp.MustCompile(regexp.QuoteMeta(n))
		}
		nameRE = re
	}
	var ipRE *regexp.Regexp
	if ip := c.query.Get("ip"); ip != "" {
		re, err := regexp.Compile(ip)
		if err != nil {
			re = regexp.MustCompile(regexp.QuoteMeta(ip))
		}
		ipRE = re
	}
	status := strings.ToUpper(c.query.Get("status"))
	var sel []*server
	for _, s := range c.st.servers {
		if !all && s.projectID != project {
			continue
		}
		if nameRE != nil && !nameRE.MatchString(s.name) {
			continue
		}
		if status != "" && s.status() != status {
			continue
		}
		if admin {
			if h := c.query.Get("host"); h != "" && s.host != h {
				continue
			}
			if n := c.query.Get("node"); n != "" && s.node != n {
				continue
			}
			if z := c.query.Get("availability_zone"); z != "" && s.az != z {
				continue
			}
		}
		if f := c.query.Get("flavor"); f != "" && s.flavor.id != f {
			continue
		}
		if im := c.query.Get("image"); im != "" && s.imageID != im {
			continue
		}
		if u := c.query.Get("user_id"); u != "" && s.userID != u {
			continue
		}
		if ipRE != nil {
			found := false
			for _, p := range c.st.serverPorts(s) {
				for _, f := range p.fixedIPs {
					if ipRE.MatchString(f.ip) {
						found = true
					}
				}
			}
			if !found {
				continue
			}
		}
		sel = append(sel, s)
	}
	// Nova's default sort: created_at desc, id desc.
	sort.SliceStable(sel, func(i, j int) bool {
		if !sel[i].created.Equal(sel[j].created) {
			return sel[i].created.After(sel[j].created)
		}
		return sel[i].id > sel[j].id
	})
	ids := make([]string, len(sel))
	for i, s := range sel {
		ids[i] = s.id
	}
	lo, hi, next, ok := paginate(ids, p)
	if !ok {
		return novaError(http.StatusBadRequest, "marker [%s] not found", p.marker)
	}
	out := []any{}
	for _, s := range sel[lo:hi] {
		out = append(out, c.serverJSON(s, detail))
	}
	body := map[string]any{"servers": out}
	if next {
		coll := "servers"
		if detail {
			coll = "servers/detail"
		}
		body["servers_links"] = c.nextLink(coll, ids[hi-1])
	}
	return jsonResp(http.StatusOK, body)
}

func (c *call) showServer() *response {
	s, r := c.visibleServer(c.args[0])
	if r != nil {
		return r
	}
	return jsonResp(http.StatusOK, map[string]any{"server": c.serverJSON(s, true)})
}

// createServer is POST /servers.
func (c *call) createServer() *response {
	v, ok := c.jsonBody()
	if !ok {
		return malformed()
	}
	body, ok := v.(map[string]any)
	if !ok {
		return schemaError("", v, "%s is not of type 'object'", pyRepr(v))
	}
	if _, ok := body["server"]; !ok {
		return schemaError("", body, "'server' is a required property")
	}
	sd, ok := body["server"].(map[string]any)
	if !ok {
		return schemaError("server", body["server"], "%s is not of type 'object'", pyRepr(body["server"]))
	}
	allowed := []string{"name", "imageRef", "flavorRef", "adminPass", "metadata", "networks", "OS-DCF:diskConfig",
		"accessIPv4", "accessIPv6", "config_drive", "user_data", "key_name", "security_groups", "availability_zone",
		"block_device_mapping", "block_device_mapping_v2", "min_count", "max_count", "return_reservation_id"}
	if !c.mv.at(57) {
		allowed = append(allowed, "personality")
	}
	if c.mv.at(19) {
		allowed = append(allowed, "description")
	}
	if c.mv.at(52) {
		allowed = append(allowed, "tags")
	}
	if c.mv.at(63) {
		allowed = append(allowed, "trusted_image_certificates")
	}
	if c.mv.at(74) {
		allowed = append(allowed, "host", "hypervisor_hostname")
	}
	if c.mv.at(90) {
		allowed = append(allowed, "hostname")
	}
	required := []string{"name", "flavorRef"}
	if c.mv.at(37) {
		required = append(required, "networks")
	}
	if r := checkProperties("server", sd, allowed, required...); r != nil {
		return r
	}
	name, ok := sd["name"].(string)
	if !ok {
		return schemaError("name", sd["name"], "%s is not of type 'string'", pyRepr(sd["name"]))
	}
	if strings.TrimSpace(name) == "" || strings.TrimSpace(name) != name || len(name) > 255 {
		return schemaError("name", name, "%s does not match '^(?! )[a-zA-Z0-9. _-]+(?<! )$'", pyRepr(name))
	}
	for _, k := range []string{"min_count", "max_count"} {
		if raw, ok := sd[k]; ok {
			if n, ok := raw.(json.Number); !ok || n.String() != "1" {
				return novaError(http.StatusBadRequest, "The simulator creates one server per request (%s must be 1).", k)
			}
		}
	}
	var imageID string
	if raw, present := sd["imageRef"]; present {
		s, ok := raw.(string)
		if !ok {
			return schemaError("imageRef", raw, "%s is not of type 'string'", pyRepr(raw))
		}
		imageID = s
		if i := strings.LastIndex(s, "/"); i >= 0 {
			imageID = s[i+1:]
		}
	}
	if imageID == "" {
		return novaError(http.StatusBadRequest, "Missing imageRef attribute")
	}
	if !uuidLike(imageID) {
		return schemaError("imageRef", sd["imageRef"], "%s is not a 'uuid'", pyRepr(sd["imageRef"]))
	}
	im := c.st.image(imageID)
	if im == nil || im.status != "active" {
		return novaError(http.StatusBadRequest, "Can not find requested image")
	}
	flavorID, _ := sd["flavorRef"].(string)
	if n, ok := sd["flavorRef"].(json.Number); ok {
		flavorID = n.String()
	}
	if i := strings.LastIndex(flavorID, "/"); i >= 0 {
		flavorID = flavorID[i+1:]
	}
	fl := c.st.flavor(flavorID)
	if fl == nil {
		return novaError(http.StatusBadRequest, "Invalid flavorRef provided.")
	}
	if im.minDisk > fl.disk && fl.disk > 0 {
		return novaError(http.StatusBadRequest, "Flavor's disk is too small for requested image. Flavor disk is %d bytes, image is %d bytes.", fl.disk<<30, im.minDisk<<30)
	}
	if im.minRAM > fl.ram {
		return novaError(http.StatusBadRequest, "Flavor's memory is too small for requested image.")
	}
	var userData string
	if raw, ok := sd["user_data"]; ok && raw != nil {
		s, _ := raw.(string)
		if _, err := base64.StdEncoding.DecodeString(s); err != nil || len(s) > 65535 {
			return schemaError("user_data", raw, "%s is not a 'base64'", pyRepr(raw))
		}
		userData = s
	}
	meta := map[string]string{}
	if raw, ok := sd["metadata"]; ok {
		mm, ok := raw.(map[string]any)
		if !ok {
			return schemaError("metadata", raw, "%s is not of type 'object'", pyRepr(raw))
		}
		for k, val := range mm {
			s, ok := val.(string)
			if !ok || len(k) > 255 || len(s) > 255 {
				return schemaError("metadata", raw, "%s is not of type 'string'", pyRepr(val))
			}
			meta[k] = s
		}
	}
	keyName, _ := sd["key_name"].(string)

	// Placement request: availability_zone "zone[:host[:node]]" (a host
	// pins the server, admins only) or, from 2.74, host/hypervisor_hostname.
	zone, forced := "", ""
	if raw, ok := sd["availability_zone"]; ok {
		az, _ := raw.(string)
		parts := strings.SplitN(az, ":", 3)
		zone = parts[0]
		if len(parts) > 1 {
			forced = parts[1]
		}
		if forced != "" {
			if r := c.policy("os_compute_api:servers:create:forced_host"); r != nil {
				return r
			}
		}
		if zone != "" {
			known := false
			for _, h := range c.st.hosts {
				if h.zone == zone {
					known = true
				}
			}
			if !known {
				return novaError(http.StatusBadRequest, "The requested availability zone is not available")
			}
		}
	}
	requestedHost := ""
	if raw, ok := sd["host"]; ok {
		if r := c.policy("compute:servers:create:requested_destination"); r != nil {
			return r
		}
		requestedHost, _ = raw.(string)
		if c.st.host(requestedHost) == nil {
			return novaError(http.StatusBadRequest, "Compute host %s could not be found.", requestedHost)
		}
	}

	// Networks.
	type netReq struct{ netID, portID, fixedIP string }
	var reqs []netReq
	switch nv := sd["networks"].(type) {
	case nil:
		if _, present := sd["networks"]; present {
			return schemaError("networks", nil, "None is not of type 'array'")
		}
		var candidates []*network
		for _, n := range c.st.networks {
			if !n.external && (n.projectID == c.tok.projectID || n.shared) {
				candidates = append(candidates, n)
			}
		}
		if len(candidates) > 1 {
			return novaError(http.StatusConflict, "Multiple possible networks found, use a Network ID to be more specific.")
		}
		for _, n := range candidates {
			reqs = append(reqs, netReq{netID: n.id})
		}
	case string:
		if !c.mv.at(37) || (nv != "auto" && nv != "none") {
			return schemaError("networks", nv, "%s is not of type 'array'", pyRepr(nv))
		}
		if nv == "auto" {
			for _, n := range c.st.networks {
				if !n.external && (n.projectID == c.tok.projectID || n.shared) {
					reqs = append(reqs, netReq{netID: n.id})
					break
				}
			}
		}
	case []any:
		for _, e := range nv {
			em, ok := e.(map[string]any)
			if !ok {
				return schemaError("networks", nv, "%s is not of type 'object'", pyRepr(e))
			}
			allowedNet := []string{"uuid", "port", "fixed_ip"}
			if c.mv.at(32) {
				allowedNet = append(allowedNet, "tag")
			}
			if r := checkProperties("networks", em, allowedNet); r != nil {
				return r
			}
			var nr netReq
			nr.netID, _ = em["uuid"].(string)
			nr.portID, _ = em["port"].(string)
			nr.fixedIP, _ = em["fixed_ip"].(string)
			if nr.fixedIP != "" && !validIP(nr.fixedIP) {
				return novaError(http.StatusBadRequest, "Invalid fixed IP address (%s)", nr.fixedIP)
			}
			if nr.netID == "" && nr.portID == "" {
				return novaError(http.StatusBadRequest, "Bad networks format: network uuid is not in proper format ()")
			}
			reqs = append(reqs, nr)
		}
	default:
		return schemaError("networks", nv, "%s is not of type 'array'", pyRepr(nv))
	}
	// Validate what Neutron is asked for before anything changes.
	seenPorts := map[string]bool{}
	for _, nr := range reqs {
		if nr.portID != "" {
			p := c.st.port(nr.portID)
			if p == nil {
				return novaError(http.StatusBadRequest, "Port id %s could not be found.", nr.portID)
			}
			if p.deviceID != "" || seenPorts[p.id] {
				return novaError(http.StatusConflict, "Port %s is still in use.", nr.portID)
			}
			seenPorts[p.id] = true
			continue
		}
		n := c.st.network(nr.netID)
		if n == nil || (!n.shared && !n.external && n.projectID != c.tok.projectID && !c.tok.isAdmin()) {
			return novaError(http.StatusBadRequest, "Network %s could not be found.", nr.netID)
		}
		if nr.fixedIP != "" {
			sb := c.st.subnetFor(n, nr.fixedIP)
			if sb == nil {
				return novaError(http.StatusBadRequest, "Fixed IP %s is not a valid ip address for network %s.", nr.fixedIP, n.id)
			}
			if c.st.ipInUse(sb.id, nr.fixedIP) {
				return novaError(http.StatusBadRequest, "Fixed IP address %s is already in use on instance .", nr.fixedIP)
			}
		}
	}

	// The server exists from here on.
	now := c.now
	srv := &server{
		id: c.st.uuid(), name: name, projectID: c.tok.projectID, userID: c.tok.userID, flavor: *fl, imageID: im.id,
		vmState: vmBuilding, taskState: taskScheduling, power: powerNoState, created: now, updated: now,
		keyName: keyName, metadata: meta, userData: userData, az: zone, reservationID: "r-" + c.st.shortID(8),
	}
	srv.accessIPv4, _ = sd["accessIPv4"].(string)
	srv.accessIPv6, _ = sd["accessIPv6"].(string)
	if d, ok := sd["description"].(string); ok {
		srv.description = &d
	}
	if pw, ok := sd["adminPass"].(string); ok {
		srv.adminPass = pw
	} else {
		srv.adminPass = c.st.password()
	}
	c.st.instanceSeq++
	srv.instanceName = "instance-" + hex8(c.st.instanceSeq)
	c.st.servers = append(c.st.servers, srv)
	act := c.recordAction(srv, "create")

	// Scheduling: a forced host bypasses the filters but not placement.
	var target *host
	gate := ""
	switch {
	case forced != "":
		if h := c.st.host(forced); h != nil && (zone == "" || h.zone == zone) && c.st.fits(h, fl) {
			target = h
		}
	case requestedHost != "":
		h := c.st.host(requestedHost)
		if !h.svc.disabled && h.svc.up() && (zone == "" || h.zone == zone) && c.st.fits(h, fl) {
			target = h
		}
	default:
		target = c.st.schedule(fl, schedRequest{zone: zone})
	}
	if target != nil {
		srv.host, srv.node, gate = target.name, target.hypervisorHostname, target.name
		if srv.az == "" {
			srv.az = target.zone
		}
		srv.taskState = taskSpawning
	}
	for _, nr := range reqs {
		if nr.portID != "" {
			c.st.bindPort(c.st.port(nr.portID), srv, now)
			continue
		}
		if _, err := c.st.newPortFor(srv, c.st.network(nr.netID), nr.fixedIP, now); err != nil {
			c.st.removeServer(srv, now)
			if err == errNoMoreIPs {
				return novaError(http.StatusBadRequest, "No more available IP addresses on network %s.", nr.netID)
			}
			return novaError(http.StatusBadRequest, "Fixed IP address %s is already in use on instance .", nr.fixedIP)
		}
	}
	st := c.st
	st.after(now.Add(c.s.timing.Build), gate, srv, func(at time.Time) {
		srv.updated = at
		srv.taskState = taskNone
		if srv.host == "" {
			srv.vmState, srv.power = vmError, powerNoState
			srv.fault = &fault{code: 500, message: noValidHost, created: at}
			st.releasePorts(srv, at)
			act.finish("conductor_schedule_and_build_instances", "Error", "", at)
			return
		}
		srv.vmState, srv.power, srv.launched = vmActive, powerRunning, at
		st.refreshPorts(srv, at)
		act.finish("compute_build_and_run_instance", "Success", srv.host, at)
	})
	out := map[string]any{
		"id": srv.id, "links": c.links("servers", srv.id), "OS-DCF:diskConfig": "MANUAL",
		"security_groups": []any{map[string]any{"name": "default"}},
	}
	if c.st.instancePassword {
		out["adminPass"] = srv.adminPass
	}
	return jsonResp(http.StatusAccepted, map[string]any{"server": out}).with("Location", c.base+computePrefix+"/v2.1/servers/"+srv.id)
}

func hex8(n int) string {
	const digits = "0123456789abcdef"
	b := make([]byte, 8)
	for i := 7; i >= 0; i-- {
		b[i] = digits[n&0xf]
		n >>= 4
	}
	return string(b)
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

func uuidLike(s string) bool { return uuidRE.MatchString(s) }

// releasePorts undoes a failed build's network allocation.
func (st *state) releasePorts(srv *server, now time.Time) {
	kept := st.ports[:0]
	for _, p := range st.ports {
		if p.deviceID == srv.id {
			if p.novaCreated {
				for _, f := range st.fipsOfPort(p.id) {
					f.portID, f.fixedIP, f.status, f.routerID = "", "", "DOWN", ""
					f.updated = now
					f.revision++
				}
				continue
			}
			st.unbindPort(p, now)
		}
		kept = append(kept, p)
	}
	st.ports = kept
}

// refreshPorts re-binds the server's ports to its (new) host.
func (st *state) refreshPorts(srv *server, now time.Time) {
	for _, p := range st.serverPorts(srv) {
		p.bindingHost = srv.host
		if p.status != portStatusActive {
			p.status = portStatusActive
			p.revision++
		}
		p.updated = now
	}
}

// deleteServer is DELETE /servers/{id}: 204, then the server goes away. A
// server whose compute service is down is deleted at once (Nova's local
// delete).
func (c *call) deleteServer() *response {
	s, r := c.visibleServer(c.args[0])
	if r != nil {
		return r
	}
	c.deleteNow(s)
	return emptyResp(http.StatusNoContent)
}

func (c *call) deleteNow(s *server) {
	c.recordAction(s, "delete")
	h := c.st.host(s.host)
	if h == nil || !h.svc.up() || s.vmState == vmBuilding && s.host == "" {
		c.st.removeServer(s, c.now)
		return
	}
	if s.taskState == taskDeleting {
		return
	}
	c.st.cancelTasks(s)
	s.claim = ""
	s.taskState = taskDeleting
	s.updated = c.now
	st := c.st
	st.after(c.now.Add(c.s.timing.Delete), s.host, s, func(at time.Time) {
		st.removeServer(s, at)
	})
}

// updateServer is PUT /servers/{id}.
func (c *call) updateServer() *response {
	s, r := c.visibleServer(c.args[0])
	if r != nil {
		return r
	}
	v, ok := c.jsonBody()
	if !ok {
		return malformed()
	}
	body, _ := v.(map[string]any)
	sd, ok := body["server"].(map[string]any)
	if !ok {
		return schemaError("", body, "'server' is a required property")
	}
	allowed := []string{"name", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig"}
	if c.mv.at(19) {
		allowed = append(allowed, "description")
	}
	if c.mv.at(90) {
		allowed = append(allowed, "hostname")
	}
	if r := checkProperties("server", sd, allowed); r != nil {
		return r
	}
	if n, ok := sd["name"].(string); ok {
		s.name = n
	}
	if a, ok := sd["accessIPv4"].(string); ok {
		s.accessIPv4 = a
	}
	if a, ok := sd["accessIPv6"].(string); ok {
		s.accessIPv6 = a
	}
	if d, ok := sd["description"]; ok {
		if ds, ok := d.(string); ok {
			s.description = &ds
		} else {
			s.description = nil
		}
	}
	s.updated = c.now
	return jsonResp(http.StatusOK, map[string]any{"server": c.serverJSON(s, true)})
}

// state checks (compute/api.py check_instance_state) -------------------------

func (c *call) checkState(s *server, action string, vmStates []string, taskStates ...string) *response {
	okVM := false
	for _, v := range vmStates {
		if s.vmState == v {
			okVM = true
		}
	}
	if !okVM {
		return novaError(http.StatusConflict, "Cannot '%s' instance %s while it is in vm_state %s", action, s.id, s.vmState)
	}
	if len(taskStates) == 0 {
		taskStates = []string{taskNone}
	}
	for _, t := range taskStates {
		if s.taskState == t {
			return nil
		}
	}
	return novaError(http.StatusConflict, "Cannot '%s' instance %s while it is in task_state %s", action, s.id, s.taskState)
}

// serverAction is POST /servers/{id}/action.
func (c *call) serverAction() *response {
	v, ok := c.jsonBody()
	if !ok {
		return malformed()
	}
	body, ok := v.(map[string]any)
	if !ok || len(body) != 1 {
		return malformed()
	}
	var key string
	var arg any
	for k, a := range body {
		key, arg = k, a
	}
	actions := map[string]func(*server, any) *response{
		"os-stop": c.stopServer, "os-start": c.startServer, "reboot": c.rebootServer,
		"rebuild": c.rebuildServer, "evacuate": c.evacuateServer, "os-resetState": c.resetState,
		"forceDelete": c.forceDelete,
	}
	h, ok := actions[key]
	if !ok {
		return novaError(http.StatusBadRequest, "There is no such action: %s", key)
	}
	// Schema validation happens before the instance lookup.
	if key == "evacuate" {
		if r := c.validateEvacuate(arg); r != nil {
			return r
		}
	}
	s, r := c.visibleServer(c.args[0])
	if r != nil {
		return r
	}
	return h(s, arg)
}

func (c *call) powerOp(s *server, action, task, vmEnd string, power int, d time.Duration, event string) {
	s.taskState = task
	s.updated = c.now
	act := c.recordAction(s, action)
	st := c.st
	st.after(c.now.Add(d), s.host, s, func(at time.Time) {
		s.taskState, s.vmState, s.power, s.updated = taskNone, vmEnd, power, at
		if vmEnd == vmActive {
			st.refreshPorts(s, at)
		}
		act.finish(event, "Success", s.host, at)
	})
}

func (c *call) stopServer(s *server, _ any) *response {
	if r := c.checkState(s, "stop", []string{vmActive, vmError}); r != nil {
		return r
	}
	c.powerOp(s, "stop", taskPoweringOff, vmStopped, powerShutdown, c.s.timing.Power, "compute_stop_instance")
	return emptyResp(http.StatusAccepted)
}

func (c *call) startServer(s *server, _ any) *response {
	if r := c.checkState(s, "start", []string{vmStopped}); r != nil {
		return r
	}
	c.powerOp(s, "start", taskPoweringOn, vmActive, powerRunning, c.s.timing.Power, "compute_start_instance")
	return emptyResp(http.StatusAccepted)
}

func (c *call) rebootServer(s *server, arg any) *response {
	m, ok := arg.(map[string]any)
	if !ok {
		return schemaError("reboot", arg, "%s is not of type 'object'", pyRepr(arg))
	}
	if r := checkProperties("reboot", m, []string{"type"}, "type"); r != nil {
		return r
	}
	typ, _ := m["type"].(string)
	switch strings.ToUpper(typ) {
	case "SOFT":
		if r := c.checkState(s, "reboot", []string{vmActive}); r != nil {
			return r
		}
		c.powerOp(s, "reboot", taskRebooting, vmActive, powerRunning, c.s.timing.Reboot, "compute_reboot_instance")
	case "HARD":
		if r := c.checkState(s, "reboot", []string{vmActive, vmStopped, vmError}, taskNone, taskRebooting); r != nil {
			return r
		}
		c.powerOp(s, "reboot", taskRebootHard, vmActive, powerRunning, c.s.timing.Reboot, "compute_reboot_instance")
	default:
		return schemaError("type", typ, "%s is not one of ['HARD', 'Hard', 'hard', 'SOFT', 'Soft', 'soft']", pyRepr(typ))
	}
	return emptyResp(http.StatusAccepted)
}

func (c *call) rebuildServer(s *server, arg any) *response {
	m, ok := arg.(map[string]any)
	if !ok {
		return schemaError("rebuild", arg, "%s is not of type 'object'", pyRepr(arg))
	}
	allowed := []string{"imageRef", "name", "adminPass", "metadata", "accessIPv4", "accessIPv6", "OS-DCF:diskConfig", "preserve_ephemeral", "personality"}
	if c.mv.at(19) {
		allowed = append(allowed, "description")
	}
	if c.mv.at(54) {
		allowed = append(allowed, "key_name")
	}
	if c.mv.at(57) {
		allowed = append(allowed, "user_data")
	}
	if r := checkProperties("rebuild", m, allowed, "imageRef"); r != nil {
		return r
	}
	ref, _ := m["imageRef"].(string)
	if i := strings.LastIndex(ref, "/"); i >= 0 {
		ref = ref[i+1:]
	}
	im := c.st.image(ref)
	if im == nil {
		return novaError(http.StatusBadRequest, "Cannot find requested image")
	}
	if r := c.checkState(s, "rebuild", []string{vmActive, vmStopped, vmError}); r != nil {
		return r
	}
	if n, ok := m["name"].(string); ok {
		s.name = n
	}
	if mm, ok := m["metadata"].(map[string]any); ok {
		s.metadata = map[string]string{}
		for k, val := range mm {
			s.metadata[k], _ = val.(string)
		}
	}
	if pw, ok := m["adminPass"].(string); ok {
		s.adminPass = pw
	} else {
		s.adminPass = c.st.password()
	}
	s.imageID = im.id
	vmEnd, power := vmActive, powerRunning
	if s.vmState == vmStopped {
		vmEnd, power = vmStopped, powerShutdown
	}
	c.powerOp(s, "rebuild", taskRebuilding, vmEnd, power, c.s.timing.Rebuild, "compute_rebuild_instance")
	out := c.serverJSON(s, true)
	if c.st.instancePassword {
		out["adminPass"] = s.adminPass
	}
	return jsonResp(http.StatusAccepted, map[string]any{"server": out})
}

func (c *call) resetState(s *server, arg any) *response {
	if r := c.policy("os_compute_api:os-admin-actions:reset_state"); r != nil {
		return r
	}
	m, _ := arg.(map[string]any)
	if m == nil {
		return schemaError("os-resetState", arg, "%s is not of type 'object'", pyRepr(arg))
	}
	if r := checkProperties("os-resetState", m, []string{"state"}, "state"); r != nil {
		return r
	}
	switch m["state"] {
	case "active":
		s.vmState = vmActive
	case "error":
		s.vmState = vmError
	default:
		return schemaError("state", m["state"], "%s is not one of ['active', 'error']", pyRepr(m["state"]))
	}
	c.st.cancelTasks(s)
	s.taskState, s.claim, s.updated = taskNone, "", c.now
	c.recordAction(s, "resetState")
	return emptyResp(http.StatusAccepted)
}

func (c *call) forceDelete(s *server, _ any) *response {
	c.deleteNow(s)
	return emptyResp(http.StatusAccepted)
}

// instance actions (os-instance-actions) -------------------------------------

func (c *call) recordAction(s *server, action string) *instanceAction {
	a := &instanceAction{action: action, requestID: c.reqID, userID: c.tok.userID, projectID: c.tok.projectID, start: c.now, updated: c.now}
	s.actions = append(s.actions, a)
	return a
}

func (a *instanceAction) finish(event, result, host string, at time.Time) {
	if a == nil {
		return
	}
	ev := &actionEvent{event: event, result: result, host: host, start: a.start, finish: at}
	if result == "Error" {
		a.message = "Error"
	}
	a.events = append(a.events, ev)
	a.updated = at
}

func (c *call) actionJSON(s *server, a *instanceAction, events bool) map[string]any {
	m := map[string]any{
		"action": a.action, "instance_uuid": s.id, "message": nullString(a.message), "project_id": a.projectID,
		"request_id": a.requestID, "start_time": microTime(a.start), "user_id": a.userID,
	}
	if c.mv.at(58) {
		m["updated_at"] = microTime(a.updated)
	}
	if events {
		evs := []any{}
		for _, e := range a.events {
			em := map[string]any{"event": e.event, "start_time": microTime(e.start), "finish_time": microTime(e.finish), "result": e.result}
			if c.tok.isAdmin() {
				em["traceback"] = nullString(e.traceback)
			}
			if c.mv.at(62) {
				em["hostId"] = hostID(s.projectID, e.host)
				if c.tok.isAdmin() {
					em["host"] = e.host
				}
			}
			if c.mv.at(84) {
				em["details"] = nil
			}
			evs = append(evs, em)
		}
		m["events"] = evs
	}
	return m
}

func (c *call) listInstanceActions() *response {
	s, r := c.visibleServer(c.args[0])
	if r != nil {
		return r
	}
	out := []any{}
	for i := len(s.actions) - 1; i >= 0; i-- {
		out = append(out, c.actionJSON(s, s.actions[i], false))
	}
	return jsonResp(http.StatusOK, map[string]any{"instanceActions": out})
}

func (c *call) showInstanceAction() *response {
	s, r := c.visibleServer(c.args[0])
	if r != nil {
		return r
	}
	for _, a := range s.actions {
		if a.requestID == c.args[1] {
			return jsonResp(http.StatusOK, map[string]any{"instanceAction": c.actionJSON(s, a, true)})
		}
	}
	return novaError(http.StatusNotFound, "Action for request_id %s on instance %s not found", c.args[1], s.id)
}
