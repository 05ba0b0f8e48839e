package openstack

import (
	"context"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/instanceactions"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// clockSlack is how much earlier than the interrupted attempt's start a
// record of the cloud may be dated and still count as its doing: the
// runbook host's clock and the cloud's are not the same clock.
const clockSlack = time.Minute

// checkPower answers Check for server_stop and server_start: the server
// settled in target is the effect; anything else runs the (idempotent)
// action again.
func (c *cloud) checkPower(target string) func(context.Context, ServerPowerIn, time.Time) (sdk.CheckResult, ServerOut, error) {
	return func(ctx context.Context, in ServerPowerIn, _ time.Time) (sdk.CheckResult, ServerOut, error) {
		s, err := c.session(ctx)
		if err != nil {
			return sdk.Unknown, ServerOut{}, err
		}
		srv, err := s.findServer(ctx, "server", in.Server, in.AllTenants)
		if err != nil {
			return sdk.Unknown, ServerOut{}, err
		}
		if settled(srv, target) {
			return sdk.Applied, serverOut(srv), nil
		}
		return sdk.NotApplied, ServerOut{}, nil
	}
}

// checkInstanceAction answers Check for actions Nova records in the
// server's instance actions (os-instance-actions): reboot, rebuild,
// evacuate. The action recorded since started, with the server settled in
// status, is Applied; recorded but still running (or failed) is Unknown;
// not recorded is NotApplied.
func (c *cloud) checkInstanceAction(ctx context.Context, ref string, allTenants bool, started time.Time, action string, status ...string) (sdk.CheckResult, ServerOut, error) {
	s, err := c.session(ctx)
	if err != nil {
		return sdk.Unknown, ServerOut{}, err
	}
	srv, err := s.findServer(ctx, "server", ref, allTenants)
	if err != nil {
		return sdk.Unknown, ServerOut{}, err
	}
	found, err := s.actionSince(ctx, srv.ID, action, started)
	if err != nil {
		return sdk.Unknown, ServerOut{}, err
	}
	switch {
	case !found:
		return sdk.NotApplied, ServerOut{}, nil
	case settled(srv, status...):
		return sdk.Applied, serverOut(srv), nil
	}
	return sdk.Unknown, ServerOut{}, nil
}

// actionSince says whether Nova recorded action on the server at or after
// started (less the clock slack).
func (s *session) actionSince(ctx context.Context, id, action string, started time.Time) (bool, error) {
	pages, err := instanceactions.List(s.nova(mvDefault), id, nil).AllPages(ctx)
	if err != nil {
		return false, apiError(err)
	}
	actions, err := instanceactions.ExtractInstanceActions(pages)
	if err != nil {
		return false, err
	}
	for _, a := range actions {
		if a.Action == action && !a.StartTime.Before(started.Add(-clockSlack)) {
			return true, nil
		}
	}
	return false, nil
}

// checkCreate answers Check for server_create: one server of that name
// created since the attempt started is its doing (Applied once ACTIVE,
// Unknown while building or in ERROR); none is NotApplied; several are
// Unknown.
func (c *cloud) checkCreate(ctx context.Context, in ServerCreateIn, started time.Time) (sdk.CheckResult, ServerOut, error) {
	s, err := c.session(ctx)
	if err != nil {
		return sdk.Unknown, ServerOut{}, err
	}
	all, err := s.listServers(ctx, servers.ListOpts{Name: in.Name})
	if err != nil {
		return sdk.Unknown, ServerOut{}, err
	}
	var mine []servers.Server
	for _, srv := range all {
		if srv.Name == in.Name && !srv.Created.Before(started.Add(-clockSlack)) {
			mine = append(mine, srv)
		}
	}
	switch {
	case len(mine) == 0:
		return sdk.NotApplied, ServerOut{}, nil
	case len(mine) == 1 && settled(&mine[0], "ACTIVE"):
		return sdk.Applied, serverOut(&mine[0]), nil
	}
	return sdk.Unknown, ServerOut{}, nil
}
