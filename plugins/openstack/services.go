package openstack

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Inputs and outputs of the compute service actions.
type (
	ServiceListIn struct {
		Host   string `cty:"host" help:"Only this host's services."`
		Binary string `cty:"binary" help:"Only this binary, such as nova-compute."`
	}
	ServiceOut struct {
		ID             string `cty:"id"`
		Host           string `cty:"host"`
		Binary         string `cty:"binary"`
		Zone           string `cty:"zone"`
		Status         string `cty:"status" help:"enabled or disabled."`
		State          string `cty:"state" help:"up or down."`
		ForcedDown     bool   `cty:"forced_down"`
		DisabledReason string `cty:"disabled_reason"`
		UpdatedAt      string `cty:"updated_at"`
	}
	ServiceListOut struct {
		Services []ServiceOut `cty:"services"`
		Count    int          `cty:"count"`
	}
	ServiceDisableIn struct {
		Host   string `cty:"host" runbook:"required" help:"Compute host."`
		Binary string `cty:"binary" help:"Service binary; nova-compute (the default) is the only one Nova lets change."`
		Reason string `cty:"reason" help:"Disabled reason recorded by Nova."`
	}
	ServiceForceDownIn struct {
		Host       string `cty:"host" runbook:"required" help:"Compute host."`
		Binary     string `cty:"binary" help:"Service binary (default nova-compute)."`
		ForcedDown *bool  `cty:"forced_down" help:"true (default) forces the service down; false lifts it."`
	}
	ServiceEnableIn struct {
		Host            string `cty:"host" runbook:"required" help:"Compute host."`
		Binary          string `cty:"binary" help:"Service binary (default nova-compute)."`
		ClearForcedDown *bool  `cty:"clear_forced_down" help:"Also lift a forced-down state first (default true)."`
	}
)

func serviceOut(s *services.Service) ServiceOut {
	o := ServiceOut{ID: s.ID, Host: s.Host, Binary: s.Binary, Zone: s.Zone, Status: s.Status, State: s.State,
		ForcedDown: s.ForcedDown, DisabledReason: s.DisabledReason}
	if !s.UpdatedAt.IsZero() {
		o.UpdatedAt = s.UpdatedAt.UTC().Format(time.RFC3339)
	}
	return o
}

func (c *cloud) registerServices(p *sdk.Provider) {
	p.Action("compute_service_list", sdk.Action[ServiceListIn, ServiceListOut]{
		Description: "Lists Nova services (os-services), filtered by host and binary.",
		Idempotent:  true,
		Apply: func(ctx context.Context, in ServiceListIn, _ sdk.Reporter) (ServiceListOut, error) {
			return c.serviceList(ctx, in)
		},
		Plan: func(ctx context.Context, in ServiceListIn) (ServiceListOut, []string, error) {
			out, err := c.serviceList(ctx, in)
			return out, sdk.AllOutputs(out), err
		},
	})
	p.Action("compute_service_disable", sdk.Action[ServiceDisableIn, ServiceOut]{
		Description: "Disables a host's nova-compute service (the scheduler stops placing servers there).",
		Mutating:    true, Idempotent: true,
		Apply: func(ctx context.Context, in ServiceDisableIn, r sdk.Reporter) (ServiceOut, error) {
			s, err := c.session(ctx)
			if err != nil {
				return ServiceOut{}, err
			}
			return s.applyService(ctx, r, in.Host, in.Binary, serviceChange{disable: true, reason: in.Reason})
		},
		Check: checkService(c, func(in ServiceDisableIn) (string, string) { return in.Host, in.Binary },
			func(_ ServiceDisableIn, svc *services.Service) bool { return svc.Status == "disabled" }),
	})
	p.Action("compute_service_force_down", sdk.Action[ServiceForceDownIn, ServiceOut]{
		Description: "Forces a host's nova-compute service down (so its servers can be evacuated at once), or lifts it with forced_down = false.",
		Mutating:    true, Idempotent: true,
		Apply: func(ctx context.Context, in ServiceForceDownIn, r sdk.Reporter) (ServiceOut, error) {
			s, err := c.session(ctx)
			if err != nil {
				return ServiceOut{}, err
			}
			down := boolOr(in.ForcedDown, true)
			return s.applyService(ctx, r, in.Host, in.Binary, serviceChange{forceDown: &down})
		},
		Check: checkService(c, func(in ServiceForceDownIn) (string, string) { return in.Host, in.Binary },
			func(in ServiceForceDownIn, svc *services.Service) bool {
				return svc.ForcedDown == boolOr(in.ForcedDown, true)
			}),
	})
	p.Action("compute_service_enable", sdk.Action[ServiceEnableIn, ServiceOut]{
		Description: "Enables a host's nova-compute service, lifting a forced-down state first unless told not to.",
		Mutating:    true, Idempotent: true,
		Apply: func(ctx context.Context, in ServiceEnableIn, r sdk.Reporter) (ServiceOut, error) {
			s, err := c.session(ctx)
			if err != nil {
				return ServiceOut{}, err
			}
			ch := serviceChange{enable: true}
			if boolOr(in.ClearForcedDown, true) {
				ch.forceDown = ptr(false)
			}
			return s.applyService(ctx, r, in.Host, in.Binary, ch)
		},
		Check: checkService(c, func(in ServiceEnableIn) (string, string) { return in.Host, in.Binary },
			func(in ServiceEnableIn, svc *services.Service) bool {
				return svc.Status == "enabled" && (!boolOr(in.ClearForcedDown, true) || !svc.ForcedDown)
			}),
	})
}

func (c *cloud) serviceList(ctx context.Context, in ServiceListIn) (ServiceListOut, error) {
	s, err := c.session(ctx)
	if err != nil {
		return ServiceListOut{}, err
	}
	all, err := s.listServices(ctx, in.Host, in.Binary)
	if err != nil {
		return ServiceListOut{}, err
	}
	out := ServiceListOut{Services: []ServiceOut{}, Count: len(all)}
	for i := range all {
		out.Services = append(out.Services, serviceOut(&all[i]))
	}
	return out, nil
}

func (s *session) listServices(ctx context.Context, host, binary string) ([]services.Service, error) {
	pages, err := services.List(s.nova(mvDefault), services.ListOpts{Host: host, Binary: binary}).AllPages(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	return services.ExtractServices(pages)
}

// findService reads the one service of binary on host.
func (s *session) findService(ctx context.Context, host, binary string) (*services.Service, error) {
	all, err := s.listServices(ctx, host, binary)
	if err != nil {
		return nil, err
	}
	for i := range all {
		if all[i].Host == host && all[i].Binary == binary {
			return &all[i], nil
		}
	}
	return nil, attrErr("host", &notFoundErr{binary + " service of host", host})
}

// applyService is setService for an action: its outputs.
func (s *session) applyService(ctx context.Context, r sdk.Reporter, host, binary string, ch serviceChange) (ServiceOut, error) {
	svc, err := s.setService(ctx, r, host, binary, ch)
	if err != nil {
		return ServiceOut{}, err
	}
	return serviceOut(svc), nil
}

// serviceChange is what setService does, in this order: lift or set the
// forced-down state, then enable or disable.
type serviceChange struct {
	forceDown       *bool
	disable, enable bool
	reason          string
}

// forcedDownBody is {"forced_down": <bool>}: gophercloud's UpdateOpts
// drops forced_down=false (its tag has omitempty), so lifting the state
// needs this body (reference/apis.md 2.1, force-down).
type forcedDownBody bool

func (b forcedDownBody) ToServiceUpdateMap() (map[string]any, error) {
	return map[string]any{"forced_down": bool(b)}, nil
}

// setService applies ch to the service of binary (default nova-compute)
// on host, skipping what is already so, and returns the service as Nova
// last answered. From microversion 2.53 it updates the service by id (PUT
// /os-services/{id}); older clouds get the legacy PUT
// /os-services/{disable,disable-log-reason,enable,force-down} with
// {host, binary}.
func (s *session) setService(ctx context.Context, r sdk.Reporter, host, binary string, ch serviceChange) (*services.Service, error) {
	if binary == "" {
		binary = "nova-compute"
	}
	svc, err := s.findService(ctx, host, binary)
	if err != nil {
		return nil, err
	}
	v := s.at(mvDefault)
	if ch.forceDown != nil && svc.ForcedDown != *ch.forceDown {
		if v.less(mv2_11) {
			return nil, fmt.Errorf("forcing a service down needs compute microversion 2.11; the cloud offers %s", s.novaMax)
		}
		if svc, err = s.updateService(ctx, v, svc, forcedDownBody(*ch.forceDown), "force-down",
			map[string]any{"host": host, "binary": binary, "forced_down": *ch.forceDown}); err != nil {
			return nil, err
		}
		r.Log(sdk.LevelInfo, fmt.Sprintf("%s on %s: forced_down = %t", binary, host, *ch.forceDown))
	}
	switch {
	case ch.disable && svc.Status != "disabled":
		legacy, body := "disable", map[string]any{"host": host, "binary": binary}
		if ch.reason != "" {
			legacy, body["disabled_reason"] = "disable-log-reason", ch.reason
		}
		if svc, err = s.updateService(ctx, v, svc, services.UpdateOpts{Status: services.ServiceDisabled, DisabledReason: ch.reason}, legacy, body); err != nil {
			return nil, err
		}
		r.Log(sdk.LevelInfo, fmt.Sprintf("%s on %s disabled", binary, host))
	case ch.enable && svc.Status != "enabled":
		if svc, err = s.updateService(ctx, v, svc, services.UpdateOpts{Status: services.ServiceEnabled}, "enable",
			map[string]any{"host": host, "binary": binary}); err != nil {
			return nil, err
		}
		r.Log(sdk.LevelInfo, fmt.Sprintf("%s on %s enabled", binary, host))
	case ch.disable || ch.enable:
		r.Log(sdk.LevelInfo, fmt.Sprintf("%s on %s is already %s", binary, host, svc.Status))
	}
	return svc, nil
}

// updateService sends one change, by id from 2.53 on (the answer is the
// service), else to the legacy endpoint (whose answer is partial: the
// service is read again). The id of the service found first is kept: it
// does not change.
func (s *session) updateService(ctx context.Context, v microversion, svc *services.Service, opts services.UpdateOptsBuilder, legacy string, legacyBody map[string]any) (*services.Service, error) {
	nc := s.nova(v)
	if v.atLeast(mv2_53) {
		updated, err := services.Update(ctx, nc, svc.ID, opts).Extract()
		if err != nil {
			return nil, apiError(err)
		}
		updated.ID = svc.ID
		return updated, nil
	}
	_, err := nc.Put(ctx, nc.ServiceURL("os-services", legacy), legacyBody, nil, &gophercloud.RequestOpts{OkCodes: []int{http.StatusOK}})
	if err != nil {
		return nil, apiError(err)
	}
	return s.findService(ctx, svc.Host, svc.Binary)
}

// checkService answers Check for the service actions: the state in place
// is Applied, anything else runs the (idempotent) action again.
func checkService[In any](c *cloud, ref func(In) (string, string), done func(In, *services.Service) bool) func(context.Context, In, time.Time) (sdk.CheckResult, ServiceOut, error) {
	return func(ctx context.Context, in In, _ time.Time) (sdk.CheckResult, ServiceOut, error) {
		s, err := c.session(ctx)
		if err != nil {
			return sdk.Unknown, ServiceOut{}, err
		}
		host, binary := ref(in)
		if binary == "" {
			binary = "nova-compute"
		}
		svc, err := s.findService(ctx, host, binary)
		if err != nil {
			return sdk.Unknown, ServiceOut{}, err
		}
		if done(in, svc) {
			return sdk.Applied, serviceOut(svc), nil
		}
		return sdk.NotApplied, ServiceOut{}, nil
	}
}
