package openstack

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// evacuateOpts are what an evacuation asks of Nova.
type evacuateOpts struct {
	Host            string // target; empty lets the scheduler choose
	OnSharedStorage bool   // sent only below 2.14, where Nova requires it
	Force           bool   // sent only from 2.29 to 2.67, where Nova accepts it
	AdminPass       string
}

// evacuateBody is the body of POST /servers/{id}/action for an evacuation
// at microversion v, following Nova's schemas (nova
// api/openstack/compute/schemas/evacuate.py; reference/apis.md 2.1):
//
//	2.1-2.13   {"evacuate": {"host"?, "onSharedStorage" (required), "adminPass"?}}
//	2.14-2.28  {"evacuate": {"host"?, "adminPass"?}}
//	2.29-2.67  {"evacuate": {"host"?, "adminPass"?, "force"?}}
//	2.68-      {"evacuate": {"host"?, "adminPass"?}}
//
// The schema has additionalProperties false, so a field of another range
// is a 400. gophercloud's EvacuateOpts always sends onSharedStorage (its
// tag has no omitempty), which Nova rejects from 2.14 on: hence this body.
func evacuateBody(v microversion, o evacuateOpts) (map[string]any, error) {
	b := map[string]any{}
	if o.Host != "" {
		b["host"] = o.Host
	}
	if o.AdminPass != "" {
		b["adminPass"] = o.AdminPass
	}
	if v.less(mv2_14) {
		b["onSharedStorage"] = o.OnSharedStorage
	}
	if o.Force {
		switch {
		case v.less(mv2_29) || v.atLeast(mv2_68):
			return nil, attrErr("force", fmt.Errorf("force is accepted by Nova only at microversions 2.29 to 2.67; this call uses %s", v))
		case o.Host == "":
			return nil, attrErr("force", errors.New("force needs a host (Nova answers 400 otherwise)"))
		}
		b["force"] = true
	}
	return map[string]any{"evacuate": b}, nil
}

// postEvacuate asks Nova to evacuate one server. The answer (200) has an
// empty body from 2.14 on, which gophercloud's servers.Evacuate would try
// to decode (io.EOF): the body is discarded here.
func (s *session) postEvacuate(ctx context.Context, id string, o evacuateOpts) error {
	v := s.at(mvDefault)
	body, err := evacuateBody(v, o)
	if err != nil {
		return err
	}
	nc := s.nova(v)
	_, err = nc.Post(ctx, nc.ServiceURL("servers", id, "action"), body, nil, &gophercloud.RequestOpts{OkCodes: []int{200}})
	return apiError(err)
}

// evacuated is the end of one evacuation: the server as last seen.
type evacuated struct {
	srv *servers.Server
	err error
}

// waitEvacuated waits until the server, evacuated from source, runs on
// another host with no task left (ACTIVE, or SHUTOFF for a server that
// was stopped), or fails: ERROR, or the evacuation ended with the server
// still on source. A server that was in ERROR before stays in ERROR while
// it is rebuilt, so its ERROR counts only once the evacuation was seen
// under way. pace spaces the reads (nil: every poll interval, the first
// at once).
func (c *cloud) waitEvacuated(ctx context.Context, s *session, before *servers.Server, pace func(n int, elapsed time.Duration) time.Duration, timeout time.Duration) evacuated {
	source := before.Host
	wasError := before.Status == "ERROR"
	seen := false
	last := before
	what := fmt.Sprintf("server %s (%s) to leave %s", before.Name, before.ID, source)
	if pace == nil {
		interval := c.pollInterval()
		pace = func(n int, _ time.Duration) time.Duration {
			if n == 0 {
				return 0
			}
			return interval
		}
	}
	err := waitPaced(ctx, pace, timeout, what, func(ctx context.Context) (bool, string, error) {
		srv, err := s.getServer(ctx, before.ID)
		if err != nil {
			return false, "", err
		}
		if srv == nil {
			return false, "", fmt.Errorf("server %s (%s) disappeared during its evacuation", before.Name, before.ID)
		}
		last = srv
		if srv.TaskState != "" || srv.Status == "REBUILD" || srv.Host != source {
			seen = true
		}
		switch {
		case srv.TaskState != "":
		case srv.Status == "ERROR" && (!wasError || seen):
			return false, "", serverError(srv)
		case srv.Host != source && (srv.Status == "ACTIVE" || srv.Status == "SHUTOFF"):
			return true, "", nil
		case srv.Host == source && seen && srv.Status != "ERROR" && srv.Status != "REBUILD":
			return false, "", fmt.Errorf("the evacuation of server %s (%s) ended with it still on %s (%s)", srv.Name, srv.ID, source, srv.Status)
		}
		return false, describeServer(srv), nil
	})
	return evacuated{srv: last, err: err}
}

// Inputs and outputs of server_evacuate.
type (
	ServerEvacuateIn struct {
		Server          string `cty:"server" runbook:"required" help:"Server id or exact name."`
		Host            string `cty:"host" help:"Target compute host; the scheduler chooses when unset."`
		OnSharedStorage bool   `cty:"on_shared_storage" help:"Whether the server's disk is on shared storage; sent only below microversion 2.14, where Nova requires it (default false)."`
		Force           bool   `cty:"force" help:"Bypass the scheduler's checks of host; accepted by Nova at microversions 2.29 to 2.67 only."`
		Wait            *bool  `cty:"wait" help:"Wait until the server runs on another host (default true); ERROR fails the step."`
		Timeout         string `cty:"timeout" help:"How long to wait, such as \"10m\" (the default)."`
		AllTenants      bool   `cty:"all_tenants" help:"Look the name up in every project (admin)."`
	}
	ServerEvacuateOut struct {
		ID         string `cty:"id"`
		Name       string `cty:"name"`
		Status     string `cty:"status"`
		SourceHost string `cty:"source_host"`
		Host       string `cty:"host" help:"The host the server runs on now."`
		Fault      string `cty:"fault"`
	}
)

func (c *cloud) registerEvacuate(p *sdk.Provider) {
	p.Action("server_evacuate", sdk.Action[ServerEvacuateIn, ServerEvacuateOut]{
		Description: "Evacuates one server from its (down) compute host and waits until it is ACTIVE on another host, or ERROR.",
		Mutating:    true,
		Apply:       c.serverEvacuate,
		Plan: func(ctx context.Context, in ServerEvacuateIn) (ServerEvacuateOut, []string, error) {
			s, err := c.session(ctx)
			if err != nil {
				return ServerEvacuateOut{}, nil, err
			}
			srv, err := s.findServer(ctx, "server", in.Server, in.AllTenants)
			if err != nil {
				return ServerEvacuateOut{}, nil, err
			}
			if _, err := evacuateBody(s.at(mvDefault), evacuateOpts{Host: in.Host, Force: in.Force}); err != nil {
				return ServerEvacuateOut{}, nil, err
			}
			return ServerEvacuateOut{ID: srv.ID, Name: srv.Name, SourceHost: srv.Host}, []string{"id", "name", "source_host"}, nil
		},
		Check: func(ctx context.Context, in ServerEvacuateIn, started time.Time) (sdk.CheckResult, ServerEvacuateOut, error) {
			res, out, err := c.checkInstanceAction(ctx, in.Server, in.AllTenants, started, "evacuate", "ACTIVE", "SHUTOFF")
			if res != sdk.Applied {
				return res, ServerEvacuateOut{}, err
			}
			return res, ServerEvacuateOut{ID: out.ID, Name: out.Name, Status: out.Status, Host: out.Host}, nil
		},
	})
}

func (c *cloud) serverEvacuate(ctx context.Context, in ServerEvacuateIn, r sdk.Reporter) (ServerEvacuateOut, error) {
	timeout, err := parseDuration("timeout", in.Timeout, DefaultServerTimeout)
	if err != nil {
		return ServerEvacuateOut{}, err
	}
	ctx, cancel := bounded(ctx, timeout)
	defer cancel()
	s, err := c.session(ctx)
	if err != nil {
		return ServerEvacuateOut{}, err
	}
	srv, err := s.findServer(ctx, "server", in.Server, in.AllTenants)
	if err != nil {
		return ServerEvacuateOut{}, err
	}
	if in.Host != "" && in.Host == srv.Host {
		return ServerEvacuateOut{}, attrErr("host", fmt.Errorf("server %s is already on %s", srv.Name, in.Host))
	}
	o := evacuateOpts{Host: in.Host, OnSharedStorage: in.OnSharedStorage, Force: in.Force}
	if err := s.postEvacuate(ctx, srv.ID, o); err != nil {
		return ServerEvacuateOut{}, err
	}
	target := in.Host
	if target == "" {
		target = "a host the scheduler chooses"
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("evacuating server %s (%s) from %s to %s", srv.Name, srv.ID, srv.Host, target))
	out := ServerEvacuateOut{ID: srv.ID, Name: srv.Name, Status: srv.Status, SourceHost: srv.Host, Host: srv.Host}
	if !boolOr(in.Wait, true) {
		return out, nil
	}
	res := c.waitEvacuated(ctx, s, srv, nil, timeout)
	if res.err != nil {
		return ServerEvacuateOut{}, notRetryable(res.err)
	}
	out.Status, out.Host, out.Fault = res.srv.Status, res.srv.Host, res.srv.Fault.Message
	r.Log(sdk.LevelInfo, fmt.Sprintf("server %s (%s) is %s on %s", srv.Name, srv.ID, out.Status, out.Host))
	return out, nil
}
