package openstack

import (
	"net/http"
	"time"
)

// Evacuate (nova/api/openstack/compute/evacuate.py, schemas/evacuate.py,
// compute/api.py API.evacuate, conductor rebuild_instance). The body
// schema depends on the microversion:
//
//	2.1-2.13   host?, onSharedStorage (required), adminPass?
//	2.14-2.28  host?, adminPass?
//	2.29-2.67  host?, adminPass?, force?
//	2.68-      host?, adminPass?          (force removed)
//	2.95-      same; the server ends up stopped on the destination
//
// additionalProperties is false throughout, so onSharedStorage from 2.14
// and force from 2.68 are 400s.

func (c *call) evacuateSchema() (allowed, required []string) {
	switch {
	case !c.mv.at(14):
		return []string{"host", "onSharedStorage", "adminPass"}, []string{"onSharedStorage"}
	case !c.mv.at(29):
		return []string{"host", "adminPass"}, nil
	case !c.mv.at(68):
		return []string{"host", "adminPass", "force"}, nil
	}
	return []string{"host", "adminPass"}, nil
}

func (c *call) validateEvacuate(arg any) *response {
	m, ok := arg.(map[string]any)
	if !ok {
		return schemaError("evacuate", arg, "%s is not of type 'object'", pyRepr(arg))
	}
	allowed, required := c.evacuateSchema()
	if r := checkProperties("evacuate", m, allowed, required...); r != nil {
		return r
	}
	if h, ok := m["host"]; ok {
		if s, ok := h.(string); !ok || s == "" || len(s) > 255 {
			return schemaError("host", h, "%s is not of type 'string'", pyRepr(h))
		}
	}
	for _, k := range []string{"onSharedStorage", "force"} {
		if v, ok := m[k]; ok {
			if _, ok := novaBool(v); !ok {
				return schemaError(k, v, "%s is not of type 'boolean', 'string'", pyRepr(v))
			}
		}
	}
	if v, ok := m["adminPass"]; ok {
		if _, ok := v.(string); !ok {
			return schemaError("adminPass", v, "%s is not of type 'string'", pyRepr(v))
		}
	}
	return nil
}

// evacuateServer runs after validateEvacuate and the instance lookup.
func (c *call) evacuateServer(s *server, arg any) *response {
	if r := c.policy("os_compute_api:os-evacuate"); r != nil {
		return r
	}
	m := arg.(map[string]any)
	target, _ := m["host"].(string)
	onShared := false
	if !c.mv.at(14) {
		onShared, _ = novaBool(m["onSharedStorage"])
	}
	force := false
	if c.mv.at(29) && !c.mv.at(68) {
		if v, ok := m["force"]; ok {
			force, _ = novaBool(v)
		}
		if force && target == "" {
			return novaError(http.StatusBadRequest, "Can't force to a non-provided destination")
		}
	}
	pass, hasPass := m["adminPass"].(string)
	if !c.mv.at(14) && hasPass && onShared {
		return novaError(http.StatusBadRequest, "admin password can't be changed on existing disk")
	}
	if !hasPass && (c.mv.at(14) || !onShared) {
		pass = c.st.password()
	}
	if target != "" && c.st.host(target) == nil {
		return novaError(http.StatusNotFound, "Compute host %s not found.", target)
	}
	if s.host == target {
		return novaError(http.StatusBadRequest, "The target host can't be the same one.")
	}
	if r := c.checkState(s, "evacuate", []string{vmActive, vmStopped, vmError}); r != nil {
		return r
	}
	// The source compute service must be down (forced down, or not
	// reporting): ComputeServiceInUse otherwise.
	if src := c.st.host(s.host); src != nil && src.svc.up() {
		return novaError(http.StatusBadRequest, "Compute service of %s is still in use.", s.host)
	}
	c.startEvacuation(s, target, force || (target != "" && !c.mv.at(29)))
	if !c.mv.at(14) && c.st.instancePassword {
		return jsonResp(http.StatusOK, map[string]any{"adminPass": pass})
	}
	return emptyResp(http.StatusOK)
}

// startEvacuation accepts an evacuation: the server is REBUILD at once; the
// conductor picks (or, forced, takes) a destination and claims room there.
// After L (Timing.Evacuate, or the server's evacuate_time) the server runs
// on the destination, or is ERROR when no host had room or a fault was
// injected.
func (c *call) startEvacuation(s *server, target string, forced bool) {
	st := c.st
	now := c.now
	act := c.recordAction(s, "evacuate")
	origVM := s.vmState
	source := s.host
	s.taskState = taskRebuilding
	s.updated = now
	mig := &migration{
		id: len(st.migrations) + 1, uuid: st.uuid(), instanceUUID: s.id, source: source, sourceNode: s.node,
		status: "accepted", created: now, updated: now, flavorID: s.flavor.id,
	}
	st.migrations = append(st.migrations, mig)

	var dest *host
	switch {
	case forced:
		if h := st.host(target); h != nil && st.fits(h, &s.flavor) {
			dest = h
		}
	case target != "":
		h := st.host(target)
		if !h.svc.disabled && h.svc.up() && st.fits(h, &s.flavor) {
			dest = h
		}
	default:
		dest = st.schedule(&s.flavor, schedRequest{exclude: source})
	}
	failMsg, injected := c.s.evacuationFailure(s)
	l := c.s.timing.Evacuate
	if s.evacuateTime > 0 {
		l = s.evacuateTime
	}
	fail := func(at time.Time, msg, event string) {
		s.claim = ""
		s.vmState, s.taskState, s.updated = vmError, taskNone, at
		s.fault = &fault{code: 500, message: msg, created: at}
		mig.status, mig.updated = "error", at
		act.finish(event, "Error", "", at)
	}
	if dest == nil {
		// The scheduler answers quickly: NoValidHost.
		st.after(now.Add(c.s.timing.Build), "", s, func(at time.Time) {
			fail(at, noValidHost, "conductor_rebuild_server")
		})
		return
	}
	s.claim = dest.name
	mig.dest, mig.destNode = dest.name, dest.hypervisorHostname
	mig.status = "pre-migrating"
	stopAtEnd := origVM == vmStopped || c.mv.at(95)
	st.after(now.Add(l), dest.name, s, func(at time.Time) {
		if injected {
			fail(at, failMsg, "compute_rebuild_instance")
			return
		}
		s.claim = ""
		s.host, s.node = dest.name, dest.hypervisorHostname
		s.taskState, s.updated, s.launched = taskNone, at, at
		s.fault = nil
		if stopAtEnd {
			s.vmState, s.power = vmStopped, powerShutdown
		} else {
			s.vmState, s.power = vmActive, powerRunning
		}
		st.refreshPorts(s, at)
		mig.status, mig.updated = "done", at
		act.finish("compute_rebuild_instance", "Success", dest.name, at)
	})
}

// os-migrations (evacuations only) ---------------------------------------------

func (c *call) listMigrations() *response {
	if r := c.policy("os_compute_api:os-migrations:index"); r != nil {
		return r
	}
	out := []any{}
	for i := len(c.st.migrations) - 1; i >= 0; i-- {
		m := c.st.migrations[i]
		if h := c.query.Get("host"); h != "" && m.source != h && m.dest != h {
			continue
		}
		if st := c.query.Get("status"); st != "" && m.status != st {
			continue
		}
		if t := c.query.Get("migration_type"); t != "" && t != "evacuation" {
			continue
		}
		if id := c.query.Get("instance_uuid"); id != "" && m.instanceUUID != id {
			continue
		}
		e := map[string]any{
			"id": m.id, "instance_uuid": m.instanceUUID, "source_compute": m.source, "dest_compute": nullString(m.dest),
			"source_node": m.sourceNode, "dest_node": nullString(m.destNode), "dest_host": nil, "status": m.status,
			"created_at": microTime(m.created), "updated_at": microTime(m.updated), "source_region": c.st.region,
			"dest_region": c.st.region, "old_instance_type_id": 0, "new_instance_type_id": 0,
		}
		if c.mv.at(23) {
			e["migration_type"] = "evacuation"
		}
		if c.mv.at(59) {
			e["uuid"] = m.uuid
		}
		out = append(out, e)
	}
	return jsonResp(http.StatusOK, map[string]any{"migrations": out})
}
