package openstack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Interfaces (nova/api/openstack/compute/attach_interfaces.py) ------------

func (c *call) interfaceJSON(p *port, withTag bool) map[string]any {
	fixed := []any{}
	for _, f := range p.fixedIPs {
		fixed = append(fixed, map[string]any{"subnet_id": f.subnetID, "ip_address": f.ip})
	}
	m := map[string]any{"net_id": p.networkID, "port_id": p.id, "mac_addr": p.mac, "port_state": p.status, "fixed_ips": fixed}
	if withTag {
		m["tag"] = nil
	}
	return m
}

func (c *call) listInterfaces() *response {
	s, r := c.visibleServer(c.args[0])
	if r != nil {
		return r
	}
	out := []any{}
	for _, p := range c.st.serverPorts(s) {
		out = append(out, c.interfaceJSON(p, c.mv.at(70)))
	}
	return jsonResp(http.StatusOK, map[string]any{"interfaceAttachments": out})
}

func (c *call) showInterface() *response {
	s, r := c.visibleServer(c.args[0])
	if r != nil {
		return r
	}
	p := c.st.port(c.args[1])
	if p == nil {
		return novaError(http.StatusNotFound, "Port id %s could not be found.", c.args[1])
	}
	if p.deviceID != s.id {
		return novaError(http.StatusNotFound, "Instance %s does not have a port with id %s", s.id, p.id)
	}
	return jsonResp(http.StatusOK, map[string]any{"interfaceAttachment": c.interfaceJSON(p, c.mv.at(70))})
}

// rpcTimeout is what a synchronous call to a dead nova-compute ends in
// (after rpc_response_timeout, which the simulator does not wait for).
func rpcTimeout() *response {
	return novaError(http.StatusInternalServerError, "Unexpected API Error. Please report this at http://bugs.launchpad.net/nova/ and attach the Nova API log if possible.\n<class 'oslo_messaging.exceptions.MessagingTimeout'>")
}

// attachInterface is POST /servers/{id}/os-interface: a port keeps its
// fixed IPs; a network gets a new port.
func (c *call) attachInterface() *response {
	s, r := c.visibleServer(c.args[0])
	if r != nil {
		return r
	}
	var netID, portID, reqIP string
	if len(strings.TrimSpace(string(c.body))) > 0 {
		v, ok := c.jsonBody()
		if !ok {
			return malformed()
		}
		body, _ := v.(map[string]any)
		att, ok := body["interfaceAttachment"].(map[string]any)
		if !ok {
			return schemaError("", body, "'interfaceAttachment' is a required property")
		}
		allowed := []string{"net_id", "port_id", "fixed_ips"}
		if c.mv.at(49) {
			allowed = append(allowed, "tag")
		}
		if r := checkProperties("interfaceAttachment", att, allowed); r != nil {
			return r
		}
		netID, _ = att["net_id"].(string)
		portID, _ = att["port_id"].(string)
		if ips, ok := att["fixed_ips"].([]any); ok && len(ips) > 0 {
			if f, ok := ips[0].(map[string]any); ok {
				reqIP, _ = f["ip_address"].(string)
			}
		}
	}
	if netID != "" && portID != "" {
		return novaError(http.StatusBadRequest, "Must not input both network_id and port_id")
	}
	if reqIP != "" && netID == "" {
		return novaError(http.StatusBadRequest, "Must input network_id when request IP address")
	}
	if r := c.checkState(s, "attach_interface", []string{vmActive, vmStopped}); r != nil {
		return r
	}
	if !c.st.hostAlive(s.host) {
		return rpcTimeout()
	}
	var p *port
	switch {
	case portID != "":
		p = c.st.port(portID)
		if p == nil {
			return novaError(http.StatusNotFound, "Port id %s could not be found.", portID)
		}
		if p.deviceID != "" {
			return novaError(http.StatusConflict, "Port %s is still in use.", portID)
		}
		c.st.bindPort(p, s, c.now)
		p.revision++
	default:
		var net *network
		if netID != "" {
			net = c.st.network(netID)
			if net == nil {
				return novaError(http.StatusNotFound, "Network %s could not be found.", netID)
			}
		} else {
			for _, n := range c.st.networks {
				if !n.external && (n.projectID == s.projectID || n.shared) {
					net = n
					break
				}
			}
			if net == nil {
				return novaError(http.StatusBadRequest, "No network to attach the interface to.")
			}
		}
		var err error
		p, err = c.st.newPortFor(s, net, reqIP, c.now)
		if err != nil {
			if err == errIPInUse {
				return novaError(http.StatusConflict, "Fixed IP address %s is already in use on instance %s.", reqIP, s.id)
			}
			return novaError(http.StatusBadRequest, "Zero fixed IPs could be found.")
		}
	}
	if s.vmState == vmActive || s.vmState == vmStopped {
		p.status = portStatusActive
	}
	act := c.recordAction(s, "attach_interface")
	act.finish("compute_attach_interface", "Success", s.host, c.now)
	return jsonResp(http.StatusOK, map[string]any{"interfaceAttachment": c.interfaceJSON(p, c.mv.at(70))})
}

// detachInterface is DELETE /servers/{id}/os-interface/{port}: 202, then
// nova-compute releases the port (a port Nova made is deleted, another is
// unbound and keeps its fixed IPs). The cast to a dead compute waits.
func (c *call) detachInterface() *response {
	s, r := c.visibleServer(c.args[0])
	if r != nil {
		return r
	}
	if r := c.checkState(s, "detach_interface", []string{vmActive, vmStopped}); r != nil {
		return r
	}
	portID := c.args[1]
	act := c.recordAction(s, "detach_interface")
	st := c.st
	st.after(c.now.Add(c.s.timing.Interface), s.host, s, func(at time.Time) {
		p := st.port(portID)
		if p == nil || p.deviceID != s.id {
			act.finish("compute_detach_interface", "Error", s.host, at)
			return
		}
		for _, f := range st.fipsOfPort(p.id) {
			if p.novaCreated {
				f.portID, f.fixedIP, f.status, f.routerID = "", "", "DOWN", ""
				f.updated = at
				f.revision++
			}
		}
		if p.novaCreated {
			st.deletePort(p)
		} else {
			st.unbindPort(p, at)
		}
		act.finish("compute_detach_interface", "Success", s.host, at)
	})
	return emptyResp(http.StatusAccepted)
}

func (st *state) deletePort(p *port) {
	kept := st.ports[:0]
	for _, q := range st.ports {
		if q != p {
			kept = append(kept, q)
		}
	}
	st.ports = kept
}

// Services (nova/api/openstack/compute/services.py) ------------------------

func (c *call) serviceJSON(sv *service) map[string]any {
	status := "enabled"
	if sv.disabled {
		status = "disabled"
	}
	state := "up"
	if !sv.up() {
		state = "down"
	}
	var id any = sv.id
	if c.mv.at(53) {
		id = sv.uuid
	}
	m := map[string]any{
		"id": id, "binary": sv.binary, "host": sv.host, "zone": sv.zone, "status": status, "state": state,
		"updated_at": microTime(sv.lastBeat(c.now)), "disabled_reason": nullString(sv.disabledReason),
	}
	if c.mv.at(11) {
		m["forced_down"] = sv.forcedDown
	}
	return m
}

func (c *call) listServices() *response {
	if r := c.policy("os_compute_api:os-services:list"); r != nil {
		return r
	}
	out := []any{}
	for _, sv := range c.st.services {
		if h := c.query.Get("host"); h != "" && sv.host != h {
			continue
		}
		if b := c.query.Get("binary"); b != "" && sv.binary != b {
			continue
		}
		out = append(out, c.serviceJSON(sv))
	}
	return jsonResp(http.StatusOK, map[string]any{"services": out})
}

func (c *call) updateService() *response {
	if r := c.policy("os_compute_api:os-services:update"); r != nil {
		return r
	}
	v, ok := c.jsonBody()
	if !ok {
		return malformed()
	}
	body, ok := v.(map[string]any)
	if !ok {
		return schemaError("", v, "%s is not of type 'object'", pyRepr(v))
	}
	if !c.mv.at(53) {
		return c.updateServiceByAction(c.args[0], body)
	}
	id := c.args[0]
	if !uuidLike(id) {
		return novaError(http.StatusBadRequest, "Invalid uuid %s", id)
	}
	if r := checkProperties("", body, []string{"status", "disabled_reason", "forced_down"}); r != nil {
		return r
	}
	if st, ok := body["status"]; ok && st != "enabled" && st != "disabled" {
		return schemaError("status", st, "%s is not one of ['enabled', 'disabled']", pyRepr(st))
	}
	if dr, ok := body["disabled_reason"]; ok {
		if s, ok := dr.(string); !ok || len(s) > 255 {
			return schemaError("disabled_reason", dr, "%s is not of type 'string'", pyRepr(dr))
		}
	}
	var sv *service
	for _, x := range c.st.services {
		if x.uuid == id {
			sv = x
		}
	}
	if sv == nil {
		return novaError(http.StatusNotFound, "Service %s could not be found.", id)
	}
	if sv.binary != "nova-compute" {
		return novaError(http.StatusBadRequest, "Updating a %s service is not supported. Only nova-compute services can be updated.", sv.binary)
	}
	changed := false
	disabled, reason := sv.disabled, sv.disabledReason
	if st, ok := body["status"]; ok {
		changed = true
		if st == "enabled" {
			if dr, _ := body["disabled_reason"].(string); dr != "" {
				return novaError(http.StatusBadRequest, "Specifying 'disabled_reason' with status 'enabled' is invalid.")
			}
			disabled, reason = false, ""
		} else {
			dr, _ := body["disabled_reason"].(string)
			disabled, reason = true, dr
		}
	}
	forced := sv.forcedDown
	if fd, ok := body["forced_down"]; ok {
		b, ok := novaBool(fd)
		if !ok {
			return schemaError("forced_down", fd, "%s is not of type 'boolean', 'string'", pyRepr(fd))
		}
		changed = true
		forced = b
		if !b {
			for _, m := range c.st.migrations {
				if m.source == sv.host && m.status == "done" {
					return novaError(http.StatusBadRequest, "Unable to force up host %s as `done` evacuation migration records remain associated with the host. Ensure the compute service has been restarted, allowing these records to move to `completed` before retrying this request.", sv.host)
				}
			}
		}
	}
	if !changed {
		return novaError(http.StatusBadRequest, "No updates were requested. Fields 'status' or 'forced_down' should be specified.")
	}
	c.st.setService(sv, disabled, reason, forced, c.now)
	return jsonResp(http.StatusOK, map[string]any{"service": c.serviceJSON(sv)})
}

// setService applies an update; un-forcing a live host wakes its work.
func (st *state) setService(sv *service, disabled bool, reason string, forced bool, now time.Time) {
	sv.disabled, sv.disabledReason = disabled, reason
	wasForced := sv.forcedDown
	sv.forcedDown = forced
	if wasForced && !forced && sv.heartbeat {
		st.wake(sv.host, now)
	}
}

// updateServiceByAction is the pre-2.53 PUT /os-services/{action} with
// {host, binary[, disabled_reason | forced_down]}.
func (c *call) updateServiceByAction(action string, body map[string]any) *response {
	actions := map[string]bool{"enable": true, "disable": true, "disable-log-reason": true}
	if c.mv.at(11) {
		actions["force-down"] = true
	}
	allowed := []string{"host", "binary", "disabled_reason"}
	if c.mv.at(11) {
		allowed = append(allowed, "forced_down")
	}
	if r := checkProperties("", body, allowed, "host", "binary"); r != nil {
		return r
	}
	if !actions[action] {
		return novaError(http.StatusNotFound, "Unknown action")
	}
	hostName, _ := body["host"].(string)
	binary, _ := body["binary"].(string)
	var sv *service
	for _, x := range c.st.services {
		if x.host == hostName && x.binary == binary {
			sv = x
		}
	}
	var reason string
	var forced bool
	switch action {
	case "disable-log-reason":
		r, ok := body["disabled_reason"].(string)
		if !ok {
			return novaError(http.StatusBadRequest, "Missing disabled reason field")
		}
		reason = r
	case "force-down":
		fd, ok := body["forced_down"]
		if !ok {
			return novaError(http.StatusBadRequest, "Missing forced_down field")
		}
		forced, _ = novaBool(fd)
	}
	if binary != "nova-compute" {
		return novaError(http.StatusBadRequest, "Updating a %s service is not supported. Only nova-compute services can be updated.", binary)
	}
	if sv == nil {
		return novaError(http.StatusNotFound, "Could not find binary %s on host %s.", binary, hostName)
	}
	out := map[string]any{"host": hostName, "binary": binary}
	switch action {
	case "enable":
		c.st.setService(sv, false, "", sv.forcedDown, c.now)
		out["status"] = "enabled"
	case "disable":
		c.st.setService(sv, true, "", sv.forcedDown, c.now)
		out["status"] = "disabled"
	case "disable-log-reason":
		c.st.setService(sv, true, reason, sv.forcedDown, c.now)
		out["status"] = "disabled"
		out["disabled_reason"] = reason
	case "force-down":
		c.st.setService(sv, sv.disabled, sv.disabledReason, forced, c.now)
		out["forced_down"] = forced
	}
	return jsonResp(http.StatusOK, map[string]any{"service": out})
}

// Hypervisors (nova/api/openstack/compute/hypervisors.py) ------------------

func (c *call) hypervisorJSON(h *host, detail bool, servers []*server, withServers bool) map[string]any {
	sv := h.svc
	var id any = h.hypID
	var svcID any = sv.id
	if c.mv.at(53) {
		id, svcID = h.hypUUID, sv.uuid
	}
	state, status := "up", "enabled"
	if !sv.up() {
		state = "down"
	}
	if sv.disabled {
		status = "disabled"
	}
	m := map[string]any{"id": id, "hypervisor_hostname": h.hypervisorHostname, "state": state, "status": status}
	if detail {
		m["hypervisor_type"] = h.hypervisorType
		m["hypervisor_version"] = h.hypervisorVersion
		m["host_ip"] = h.hostIP
		m["service"] = map[string]any{"id": svcID, "host": h.name, "disabled_reason": nullString(sv.disabledReason)}
		if !c.mv.at(88) {
			u := c.st.usage(h)
			busy := 0
			for _, s := range c.st.servers {
				if s.host == h.name && s.taskState != taskNone {
					busy++
				}
			}
			m["vcpus"] = h.vcpus
			m["memory_mb"] = h.memoryMB
			m["local_gb"] = h.localGB
			m["vcpus_used"] = u.vcpus + h.reservedCPUs
			m["memory_mb_used"] = u.ramMB + h.reservedMB
			m["local_gb_used"] = u.diskGB
			m["free_ram_mb"] = h.memoryMB - h.reservedMB - u.ramMB
			m["free_disk_gb"] = h.localGB - u.diskGB
			m["current_workload"] = busy
			m["running_vms"] = u.servers
			m["disk_available_least"] = h.localGB - u.diskGB
			if c.mv.at(28) {
				var info any = map[string]any{}
				if len(h.cpuInfo) > 0 {
					_ = json.Unmarshal(h.cpuInfo, &info)
				}
				m["cpu_info"] = info
			} else {
				m["cpu_info"] = string(h.cpuInfo)
			}
		} else {
			if sv.up() {
				m["uptime"] = c.uptime(h)
			} else {
				m["uptime"] = nil
			}
		}
	}
	if len(servers) > 0 {
		list := []any{}
		for _, s := range servers {
			list = append(list, map[string]any{"name": s.instanceName, "uuid": s.id})
		}
		m["servers"] = list
	} else if withServers && c.mv.at(75) {
		m["servers"] = []any{}
	}
	return m
}

func (c *call) uptime(h *host) string {
	d := c.now.Sub(c.s.epoch) + 93*24*time.Hour
	days := int(d.Hours()) / 24
	rest := d - time.Duration(days)*24*time.Hour
	return fmt.Sprintf(" %s up %d days, %2d:%02d,  1 user,  load average: 0.20, 0.12, 0.14",
		c.now.Format("15:04:05"), days, int(rest.Hours()), int(rest.Minutes())%60)
}

func (c *call) serversOn(h *host) []*server {
	var out []*server
	for _, s := range c.st.servers {
		if s.host == h.name {
			out = append(out, s)
		}
	}
	return out
}

func (c *call) listHypervisors(detail bool) *response {
	rule := "os_compute_api:os-hypervisors:list"
	if detail {
		rule = "os_compute_api:os-hypervisors:list-detail"
	}
	if r := c.policy(rule); r != nil {
		return r
	}
	var pattern string
	var hasPattern, withServers bool
	if c.mv.at(53) {
		pattern, hasPattern = c.query.Get("hypervisor_hostname_pattern"), c.query.Has("hypervisor_hostname_pattern")
		if v := c.query.Get("with_servers"); v != "" {
			b, ok := queryBool(v)
			if !ok {
				return novaError(http.StatusBadRequest, "Invalid input for query parameters with_servers. Value: %s. '%s' is not one of ['True', 'true', 'False', 'false', '1', '0', 'yes', 'no', 'on', 'off', 'y', 'n', 't', 'f']", v, v)
			}
			withServers = b
		}
	}
	p := page{limit: maxLimit}
	if c.mv.at(33) {
		var errResp *response
		if p, errResp = c.pageParams(); errResp != nil {
			return errResp
		}
	}
	if hasPattern && (c.query.Has("limit") || p.marker != "") {
		return novaError(http.StatusBadRequest, "Paging over hypervisors with the hypervisor_hostname_pattern query parameter is not supported.")
	}
	var sel []*host
	var ids []string
	for _, h := range c.st.hosts {
		if hasPattern && !strings.Contains(h.hypervisorHostname, pattern) {
			continue
		}
		sel = append(sel, h)
		if c.mv.at(53) {
			ids = append(ids, h.hypUUID)
		} else {
			ids = append(ids, strconv.Itoa(h.hypID))
		}
	}
	if hasPattern && len(sel) == 0 {
		return novaError(http.StatusNotFound, "No hypervisor matching '%s' could be found.", pattern)
	}
	lo, hi, next, ok := paginate(ids, p)
	if !ok {
		return novaError(http.StatusBadRequest, "marker [%s] not found", p.marker)
	}
	out := []any{}
	for _, h := range sel[lo:hi] {
		var servers []*server
		if withServers {
			servers = c.serversOn(h)
		}
		out = append(out, c.hypervisorJSON(h, detail, servers, withServers))
	}
	body := map[string]any{"hypervisors": out}
	if next && !hasPattern && c.mv.at(33) {
		coll := "os-hypervisors"
		if detail {
			coll = "os-hypervisors/detail"
		}
		body["hypervisors_links"] = c.nextLink(coll, ids[hi-1])
	}
	return jsonResp(http.StatusOK, body)
}

// findHypervisor resolves an id: a UUID from 2.53, an integer before.
func (c *call) findHypervisor(id string) (*host, *response) {
	if c.mv.at(53) {
		if !uuidLike(id) {
			return nil, novaError(http.StatusBadRequest, "Invalid uuid %s", id)
		}
		for _, h := range c.st.hosts {
			if h.hypUUID == id {
				return h, nil
			}
		}
	} else if n, err := strconv.Atoi(id); err == nil {
		for _, h := range c.st.hosts {
			if h.hypID == n {
				return h, nil
			}
		}
	}
	return nil, novaError(http.StatusNotFound, "Hypervisor with ID '%s' could not be found.", id)
}

func (c *call) showHypervisor() *response {
	if r := c.policy("os_compute_api:os-hypervisors:show"); r != nil {
		return r
	}
	h, r := c.findHypervisor(c.args[0])
	if r != nil {
		return r
	}
	withServers := false
	if c.mv.at(53) {
		if v := c.query.Get("with_servers"); v != "" {
			withServers, _ = queryBool(v)
		}
	}
	var servers []*server
	if withServers {
		servers = c.serversOn(h)
	}
	return jsonResp(http.StatusOK, map[string]any{"hypervisor": c.hypervisorJSON(h, true, servers, withServers)})
}

func (c *call) hypervisorUptime() *response {
	if c.mv.at(88) {
		return novaNotFound()
	}
	if r := c.policy("os_compute_api:os-hypervisors:uptime"); r != nil {
		return r
	}
	h, r := c.findHypervisor(c.args[0])
	if r != nil {
		return r
	}
	if !h.svc.up() {
		return novaError(http.StatusBadRequest, "Compute service of %s is unavailable at this time.", h.name)
	}
	m := c.hypervisorJSON(h, false, nil, false)
	m["uptime"] = c.uptime(h)
	return jsonResp(http.StatusOK, map[string]any{"hypervisor": m})
}

func (c *call) hypervisorStatistics() *response {
	if c.mv.at(88) {
		return novaNotFound()
	}
	if r := c.policy("os_compute_api:os-hypervisors:statistics"); r != nil {
		return r
	}
	keys := []string{"vcpus", "memory_mb", "local_gb", "vcpus_used", "memory_mb_used", "local_gb_used", "free_ram_mb", "free_disk_gb", "current_workload", "running_vms", "disk_available_least"}
	stats := map[string]any{"count": len(c.st.hosts)}
	sum := map[string]int{}
	saved := c.mv
	c.mv = microversion{2, 1}
	for _, h := range c.st.hosts {
		m := c.hypervisorJSON(h, true, nil, false)
		for _, k := range keys {
			sum[k] += m[k].(int)
		}
	}
	c.mv = saved
	for _, k := range keys {
		stats[k] = sum[k]
	}
	return jsonResp(http.StatusOK, map[string]any{"hypervisor_statistics": stats})
}

// searchHypervisors is the pre-2.53 /os-hypervisors/{pattern}/search and
// /servers.
func (c *call) searchHypervisors(withServers bool) *response {
	if c.mv.at(53) {
		return novaNotFound()
	}
	rule := "os_compute_api:os-hypervisors:search"
	if withServers {
		rule = "os_compute_api:os-hypervisors:servers"
	}
	if r := c.policy(rule); r != nil {
		return r
	}
	pattern := c.args[0]
	out := []any{}
	for _, h := range c.st.hosts {
		if !strings.Contains(h.hypervisorHostname, pattern) {
			continue
		}
		var servers []*server
		if withServers {
			servers = c.serversOn(h)
		}
		out = append(out, c.hypervisorJSON(h, false, servers, false))
	}
	if len(out) == 0 {
		return novaError(http.StatusNotFound, "No hypervisor matching '%s' could be found.", pattern)
	}
	return jsonResp(http.StatusOK, map[string]any{"hypervisors": out})
}
