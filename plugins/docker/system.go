package docker

import (
	"context"

	"github.com/moby/moby/client"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// None is the input of an action that has none.
type None struct{}

// PingOut are ping's outputs.
type PingOut struct {
	Host             string `cty:"host" help:"The daemon's address the provider uses."`
	APIVersion       string `cty:"api_version" help:"The highest API version the daemon speaks."`
	ClientAPIVersion string `cty:"client_api_version" help:"The API version the provider speaks to it (negotiated, or pinned)."`
	MinAPIVersion    string `cty:"min_api_version"`
	OSType           string `cty:"os_type" help:"linux or windows."`
	ServerVersion    string `cty:"server_version" help:"The engine's version, 20.10.24 say."`
	Arch             string `cty:"arch"`
	Experimental     bool   `cty:"experimental"`
}

func (d *docker) registerSystem(p *sdk.Provider) {
	p.Action("ping", sdk.Action[None, PingOut]{
		Description: "Check that the daemon answers (GET /_ping, /version) and report its versions.",
		Idempotent:  true,
		Apply: func(ctx context.Context, _ None, _ sdk.Reporter) (PingOut, error) {
			return d.ping(ctx)
		},
		Plan: func(ctx context.Context, _ None) (PingOut, []string, error) {
			return planRead(d.ping(ctx))
		},
	})
}

func (d *docker) ping(ctx context.Context) (PingOut, error) {
	c, err := d.client()
	if err != nil {
		return PingOut{}, err
	}
	ping, err := c.Ping(ctx, client.PingOptions{NegotiateAPIVersion: true})
	if err != nil {
		return PingOut{}, apiErr(c, "ping", err)
	}
	v, err := c.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		return PingOut{}, apiErr(c, "version", err)
	}
	api := ping.APIVersion
	if api == "" {
		api = v.APIVersion
	}
	return PingOut{
		Host: c.DaemonHost(), APIVersion: api, ClientAPIVersion: c.ClientVersion(), MinAPIVersion: v.MinAPIVersion,
		OSType: ping.OSType, ServerVersion: v.Version, Arch: v.Arch, Experimental: ping.Experimental,
	}, nil
}

// planRead is the Plan of a read-only action: what the read found, every
// output known; nothing known when the daemon is down or failing, or the
// object is not there yet (an earlier step may create it). Other errors,
// a bad filter say, fail the dry-run as they would fail the run.
func planRead[Out any](out Out, err error) (Out, []string, error) {
	var zero Out
	switch {
	case err == nil:
		return out, sdk.AllOutputs(out), nil
	case isUnavailable(err), isNotFound(err):
		return zero, nil, nil
	}
	return zero, nil, err
}
