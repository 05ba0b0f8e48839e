package manager

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"time"

	goversion "github.com/hashicorp/go-version"
)

// The simulated world moves lazily: every request first calls advance(now),
// which applies, in time order, every transition due by now (an execution
// starting, finishing, a scheduled execution coming due, a restore
// restarting the manager). Events carry the time of their transition, not
// of the request that noticed it, so the history is the same whether a
// client polls every millisecond or once at the end.

// advance applies every transition due at or before now.
func (s *Server) advance(now time.Time) {
	for guard := 0; guard < 1_000_000; guard++ {
		var next *execution
		var at time.Time
		for _, e := range s.st.executions {
			t := e.dueAt()
			if t.IsZero() || t.After(now) {
				continue
			}
			if next == nil || t.Before(at) {
				next, at = e, t
			}
		}
		if next == nil {
			return
		}
		s.step(next, at)
	}
}

func (e *execution) dueAt() time.Time {
	if e.status == execScheduled {
		return e.scheduledFor
	}
	return e.nextAt
}

// step applies e's transition due at `at`.
func (s *Server) step(e *execution, at time.Time) {
	switch e.status {
	case execScheduled:
		e.nextAt = time.Time{}
		// A scheduled execution that cannot run when it comes due is queued.
		_ = s.admit(e, at, false, true)
	case execPending:
		e.status = execStarted
		e.startedAt = at
		s.emitEvent(e, at, "workflow_started", fmt.Sprintf("Starting '%s' workflow execution", e.workflowID), nil)
		s.emitLog(e, at, "info", startLog(e))
		if e.workflowID == "restore_snapshot" && e.failWith == "" {
			e.restartAt = at.Add(s.timing.Restore)
			e.upAt = e.restartAt.Add(s.timing.Restart)
			e.nextAt = e.restartAt
		} else {
			e.nextAt = at.Add(s.timing.runTime(e.workflowID))
		}
	case execStarted:
		if e.workflowID == "restore_snapshot" && e.failWith == "" && !e.restarting {
			s.applyRestore(e, at)
			e.restarting = true
			e.nextAt = e.upAt
			return
		}
		s.finish(e, at)
	case execCancelling, execForceCancelling, execKillCancelling:
		e.status = execCancelled
		e.endedAt = at
		e.nextAt = time.Time{}
		e.restarting = false
		s.emitEvent(e, at, "workflow_cancelled", fmt.Sprintf("'%s' workflow execution cancelled", e.workflowID), nil)
		s.afterEnd(e, at, "Execution cancelled")
	default:
		e.nextAt = time.Time{}
	}
}

func startLog(e *execution) string {
	switch e.workflowID {
	case "create_snapshot":
		return fmt.Sprintf("Creating snapshot %v", e.parameters["snapshot_id"])
	case "restore_snapshot":
		return fmt.Sprintf("Restoring snapshot %v", e.parameters["snapshot_id"])
	case "update_plugin":
		return fmt.Sprintf("Updating plugins of deployments %v", e.parameters["deployments_to_update"])
	}
	if e.deploymentID != "" {
		return fmt.Sprintf("Starting '%s' workflow on deployment %s", e.workflowID, e.deploymentID)
	}
	return fmt.Sprintf("Starting '%s' workflow", e.workflowID)
}

// finish ends a started execution, failed if a fault says so.
func (s *Server) finish(e *execution, at time.Time) {
	e.endedAt = at
	e.nextAt = time.Time{}
	e.restarting = false
	if e.failWith != "" {
		e.status = execFailed
		e.errMsg = e.failWith
		s.emitEvent(e, at, "workflow_failed", fmt.Sprintf("'%s' workflow execution failed: %s", e.workflowID, e.failWith),
			[]map[string]any{{"message": e.failWith, "traceback": "", "type": "NonRecoverableError"}})
		s.afterEnd(e, at, e.failWith)
		return
	}
	e.status = execTerminated
	switch e.workflowID {
	case "create_snapshot":
		if sn := s.st.snapshot(e.tenant, fmt.Sprint(e.parameters["snapshot_id"])); sn != nil {
			sn.status = snapCreated
			sn.contents = s.st.captureContents()
			sn.archive = buildArchive(sn.id, s.st.version.Version, sn.createdAt, sn.contents)
		}
	case "update_plugin":
		for _, pu := range s.st.pluginsUpdates {
			if pu.executionID != e.id {
				continue
			}
			pu.state = puSuccessful
			if bp := s.st.blueprint(pu.tenant, pu.blueprintID); bp != nil {
				for i, p := range bp.plugins {
					for _, t := range pu.targets {
						if t.PackageName == p.PackageName {
							bp.plugins[i].PackageVersion = t.PackageVersion
						}
					}
				}
			}
		}
	}
	s.emitEvent(e, at, "workflow_succeeded", fmt.Sprintf("'%s' workflow execution succeeded", e.workflowID), nil)
	s.afterEnd(e, at, "")
}

// afterEnd applies what an execution ending means for the rest of the
// manager, then starts queued executions (update_execution_status).
func (s *Server) afterEnd(e *execution, at time.Time, errMsg string) {
	if e.status != execTerminated {
		switch e.workflowID {
		case "create_snapshot":
			if sn := s.st.snapshot(e.tenant, fmt.Sprint(e.parameters["snapshot_id"])); sn != nil && sn.status == snapCreating {
				sn.status = snapFailed
				sn.errMsg = errMsg
			}
		case "update_plugin":
			for _, pu := range s.st.pluginsUpdates {
				if pu.executionID == e.id {
					pu.state = puFailed
				}
			}
		case "restore_snapshot":
			s.lc.stopTimers()
			go s.lc.ensureUp()
		}
	}
	s.startQueued(at)
}

// startQueued is start_queued_executions: queued executions run, oldest
// first, as soon as nothing blocks them.
func (s *Server) startQueued(at time.Time) {
	var queued []*execution
	for _, e := range s.st.executions {
		if e.status == execQueued {
			queued = append(queued, e)
		}
	}
	sort.SliceStable(queued, func(i, j int) bool { return queued[i].createdAt.Before(queued[j].createdAt) })
	for _, e := range queued {
		_ = s.admit(e, at, false, true)
	}
}

// applyRestore swaps the manager's contents for the snapshot's, the moment
// the restoring manager restarts. Scheduled executions that are overdue by
// then are marked failed and logged (seed 002, "restoring scheduled
// executions"); the others stay scheduled and run when due.
func (s *Server) applyRestore(e *execution, at time.Time) {
	id := fmt.Sprint(e.parameters["snapshot_id"])
	sn := s.st.snapshot(e.tenant, id)
	if sn == nil {
		return
	}
	contents := readArchive(sn.archive)
	if contents == nil {
		contents = sn.contents
	}
	if contents == nil {
		return
	}
	tenantOr := func(t string) string {
		if t == "" {
			return defaultTenant
		}
		s.st.tenants[t] = true
		return t
	}
	s.installContents(s.st, contents, at, tenantOr)
	for _, x := range s.st.executions {
		if x == e {
			continue
		}
		x.nextAt = time.Time{}
		switch {
		case x.status == execScheduled && !x.scheduledFor.After(at):
			x.status = execFailed
			s.emitLog(e, at, "info", fmt.Sprintf("Execution %s scheduled for %s is overdue. Marking as FAILED.", x.id, ts(x.scheduledFor)))
		case isActive(x.status) || x.status == execQueued:
			// It was running when the snapshot was taken; nothing runs it now.
			x.status = execFailed
			x.errMsg = "Execution was active when the snapshot was taken and did not survive the restore"
			x.endedAt = at
		}
	}
}

// failureFor is the error a fault makes this workflow end with ("" when
// none).
func (s *Server) failureFor(workflow string) string {
	s.faultMu.Lock()
	defer s.faultMu.Unlock()
	msg, ok := s.faults.FailWorkflows[workflow]
	if !ok {
		return ""
	}
	if msg == "" {
		msg = fmt.Sprintf("Simulated failure of workflow '%s'", workflow)
	}
	return msg
}

// newExecution builds an execution in pending; admit decides whether it
// runs, waits in the queue, or is refused.
func (s *Server) newExecution(c *call, workflow, deploymentID string, params map[string]any, system bool) *execution {
	e := &execution{
		id: s.newID(), tenant: c.tenant, workflowID: workflow, deploymentID: deploymentID,
		status: execPending, parameters: params, isSystem: system, createdAt: c.now,
		createdBy: c.user.username, failWith: s.failureFor(workflow),
	}
	if d := s.st.deployment(c.tenant, deploymentID); d != nil {
		e.blueprintID = d.blueprintID
	}
	return e
}

// modifiesDB is _system_workflow_modifies_db: the system workflows a
// running create_snapshot blocks.
func modifiesDB(workflow string) bool {
	switch workflow {
	case "create_snapshot", "uninstall_plugin", "create_deployment_environment", "delete_deployment_environment", "update_plugin":
		return true
	}
	return workflow == "restore_snapshot"
}

func executionRepr(list []*execution) string {
	parts := make([]string, len(list))
	for i, e := range list {
		parts[i] = fmt.Sprintf("<Execution id=`%s` tenant=`%s`>", e.id, e.tenant)
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// admit is ResourceManager.prepare_executions for one execution: it checks
// what may block it (a create_snapshot in progress, system-wide executions,
// executions of the same deployment), then sets it pending (it starts after
// Timing.Start) or queued, or refuses it.
func (s *Server) admit(e *execution, now time.Time, force, queue bool) *apiError {
	if e.isSystem && modifiesDB(e.workflowID) {
		for _, x := range s.st.executions {
			if x != e && x.workflowID == "create_snapshot" && (isActive(x.status) || x.status == execQueued) {
				return errf(http.StatusBadRequest, "existing_running_execution_error",
					"You cannot start an execution that modifies DB state while a `create_snapshot` workflow is running or queued (snapshot id: %s)", x.id)
			}
		}
	}
	blocked := false
	if e.isSystem && e.deploymentID == "" {
		var ids []string
		for _, x := range s.st.executions {
			if x != e && isActive(x.status) {
				ids = append(ids, x.id)
			}
		}
		if len(ids) > 0 {
			if !queue {
				return errf(http.StatusBadRequest, "existing_running_execution_error",
					"Cannot start execution because there are other executions running: %s", strings.Join(ids, ", "))
			}
			blocked = true
		}
	} else {
		var ids []string
		for _, x := range s.st.executions {
			if x != e && x.isSystem && (isActive(x.status) || x.status == execQueued) {
				ids = append(ids, x.id)
			}
		}
		if len(ids) > 0 {
			if !queue {
				return errf(http.StatusBadRequest, "existing_running_execution_error",
					"Cannot start execution because there are other executions running: %s", strings.Join(ids, ", "))
			}
			blocked = true
		}
		if !blocked && !force && e.deploymentID != "" {
			var running []*execution
			for _, x := range s.st.executions {
				if x == e || x.deploymentID != e.deploymentID || x.tenant != e.tenant {
					continue
				}
				if isActive(x.status) || (x.status == execQueued && x.createdAt.Before(e.createdAt)) {
					running = append(running, x)
				}
			}
			if len(running) > 0 {
				if !queue && e.scheduledFor.IsZero() {
					return errf(http.StatusBadRequest, "existing_running_execution_error",
						"The following executions are currently running for this deployment: %s. To execute this workflow anyway, pass \"force=true\" as a query parameter to this request",
						executionRepr(running))
				}
				blocked = true
			}
		}
	}
	if blocked {
		e.status = execQueued
		e.nextAt = time.Time{}
		return nil
	}
	e.status = execPending
	e.nextAt = now.Add(s.timing.Start)
	if e.workflowID == "restore_snapshot" && e.failWith == "" {
		s.scheduleRestart(e, now)
	}
	return nil
}

// scheduleRestart arranges, for a started simulator in RestartRefuse mode,
// that the listener closes for the restore's restart window.
func (s *Server) scheduleRestart(e *execution, now time.Time) {
	if s.opts.RestartMode != RestartRefuse || s.timing.Restart <= 0 || !s.lc.started() {
		return
	}
	restartAt := e.nextAt.Add(s.timing.Restore)
	upAt := restartAt.Add(s.timing.Restart)
	s.lc.addTimer(s.clock.AfterFunc(restartAt.Sub(now), s.lc.goDown))
	s.lc.addTimer(s.clock.AfterFunc(upAt.Sub(now), s.lc.goUp))
}

func (s *Server) emitEvent(e *execution, at time.Time, eventType, msg string, causes []map[string]any) {
	s.st.events = append(s.st.events, &event{
		ts: at, typ: "cloudify_event", eventType: eventType, message: msg, execID: e.id,
		workflowID: e.workflowID, deployment: e.deploymentID, blueprint: e.blueprintID, tenant: e.tenant,
		errorCauses: causes,
	})
}

func (s *Server) emitLog(e *execution, at time.Time, level, msg string) {
	s.st.events = append(s.st.events, &event{
		ts: at, typ: "cloudify_log", level: level, message: msg, execID: e.id,
		workflowID: e.workflowID, deployment: e.deploymentID, blueprint: e.blueprintID, tenant: e.tenant,
	})
}

// newerVersion reports whether a is a newer plugin version than b.
func newerVersion(a, b string) bool {
	va, errA := goversion.NewVersion(a)
	vb, errB := goversion.NewVersion(b)
	if errA != nil || errB != nil {
		return a > b
	}
	return va.GreaterThan(vb)
}
