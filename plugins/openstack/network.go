package openstack

import (
	"context"
	"fmt"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/attachinterfaces"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// DefaultPortTimeout bounds the wait for Nova to release a detached port.
const DefaultPortTimeout = 2 * time.Minute

// Inputs and outputs of the Neutron actions and of the interface
// attach/detach (Nova's os-interface, which keeps a pre-made port and its
// fixed IP across servers: seed 000's manager recovery depends on it).
type (
	FloatingIPIn struct {
		FloatingIP string `cty:"floating_ip" runbook:"required" help:"Floating IP address or id."`
	}
	FloatingIPAssociateIn struct {
		FloatingIP  string `cty:"floating_ip" runbook:"required" help:"Floating IP address or id."`
		Port        string `cty:"port" runbook:"required" help:"Port id or name to point the floating IP at."`
		FixedIP     string `cty:"fixed_ip" help:"Which fixed IP of the port, when it has several."`
		Reassociate bool   `cty:"reassociate" help:"Move the floating IP when it is associated with another port (default false: fail)."`
	}
	FloatingIPOut struct {
		ID              string `cty:"id"`
		FloatingIP      string `cty:"floating_ip"`
		PortID          string `cty:"port_id" help:"The port the floating IP points at now; empty when disassociated."`
		FixedIP         string `cty:"fixed_ip"`
		Status          string `cty:"status"`
		PreviousPortID  string `cty:"previous_port_id" help:"The port it pointed at before the action."`
		PreviousFixedIP string `cty:"previous_fixed_ip"`
	}
	PortServerIn struct {
		Server     string `cty:"server" runbook:"required" help:"Server id or exact name."`
		Port       string `cty:"port" runbook:"required" help:"Port id or name."`
		Timeout    string `cty:"timeout" help:"How long to wait for the port to be released or attached, such as \"2m\" (the default)."`
		AllTenants bool   `cty:"all_tenants" help:"Look the server name up in every project (admin)."`
	}
	PortOut struct {
		ID          string   `cty:"id"`
		Name        string   `cty:"name"`
		NetworkID   string   `cty:"network_id"`
		MACAddress  string   `cty:"mac_address"`
		FixedIPs    []string `cty:"fixed_ips" help:"The port's fixed IP addresses (kept across detach and attach)."`
		Status      string   `cty:"status"`
		DeviceID    string   `cty:"device_id" help:"The server the port is attached to; empty once detached."`
		DeviceOwner string   `cty:"device_owner"`
	}
)

func fipOut(f *floatingips.FloatingIP) FloatingIPOut {
	return FloatingIPOut{ID: f.ID, FloatingIP: f.FloatingIP, PortID: f.PortID, FixedIP: f.FixedIP, Status: f.Status}
}

func portOut(p *ports.Port) PortOut {
	o := PortOut{ID: p.ID, Name: p.Name, NetworkID: p.NetworkID, MACAddress: p.MACAddress, Status: p.Status,
		DeviceID: p.DeviceID, DeviceOwner: p.DeviceOwner, FixedIPs: []string{}}
	for _, ip := range p.FixedIPs {
		o.FixedIPs = append(o.FixedIPs, ip.IPAddress)
	}
	return o
}

func (c *cloud) registerNetwork(p *sdk.Provider) {
	p.Action("floating_ip_disassociate", sdk.Action[FloatingIPIn, FloatingIPOut]{
		Description: "Disassociates a floating IP from its port (Neutron); one already free is left as is.",
		Mutating:    true, Idempotent: true,
		Apply: c.fipDisassociate,
		Check: func(ctx context.Context, in FloatingIPIn, _ time.Time) (sdk.CheckResult, FloatingIPOut, error) {
			_, f, err := c.fip(ctx, in.FloatingIP)
			if err != nil {
				return sdk.Unknown, FloatingIPOut{}, err
			}
			if f.PortID == "" {
				return sdk.Applied, fipOut(f), nil
			}
			return sdk.NotApplied, FloatingIPOut{}, nil
		},
	})
	p.Action("floating_ip_associate", sdk.Action[FloatingIPAssociateIn, FloatingIPOut]{
		Description: "Points a floating IP at a port (Neutron); one already there is left as is.",
		Mutating:    true, Idempotent: true,
		Apply: c.fipAssociate,
		Check: func(ctx context.Context, in FloatingIPAssociateIn, _ time.Time) (sdk.CheckResult, FloatingIPOut, error) {
			s, f, err := c.fip(ctx, in.FloatingIP)
			if err != nil {
				return sdk.Unknown, FloatingIPOut{}, err
			}
			port, err := s.findPort(ctx, in.Port)
			if err != nil {
				return sdk.Unknown, FloatingIPOut{}, attrErr("port", err)
			}
			if f.PortID == port.ID && (in.FixedIP == "" || f.FixedIP == in.FixedIP) {
				return sdk.Applied, fipOut(f), nil
			}
			return sdk.NotApplied, FloatingIPOut{}, nil
		},
	})
	p.Action("port_detach", sdk.Action[PortServerIn, PortOut]{
		Description: "Detaches a pre-made port from a server (Nova os-interface) and waits until Neutron shows it free; the port keeps its fixed IPs.",
		Mutating:    true, Idempotent: true,
		Apply: c.portDetach,
		Check: func(ctx context.Context, in PortServerIn, _ time.Time) (sdk.CheckResult, PortOut, error) {
			return c.checkPort(ctx, in, false)
		},
	})
	p.Action("port_attach", sdk.Action[PortServerIn, PortOut]{
		Description: "Attaches a pre-made port to a server (Nova os-interface): the server gets the port's fixed IPs.",
		Mutating:    true, Idempotent: true,
		Apply: c.portAttach,
		Check: func(ctx context.Context, in PortServerIn, _ time.Time) (sdk.CheckResult, PortOut, error) {
			return c.checkPort(ctx, in, true)
		},
	})
}

func (c *cloud) fip(ctx context.Context, ref string) (*session, *floatingips.FloatingIP, error) {
	s, err := c.session(ctx)
	if err != nil {
		return nil, nil, err
	}
	f, err := s.findFloatingIP(ctx, ref)
	if isNotFoundInput(err) {
		return nil, nil, attrErr("floating_ip", err)
	}
	return s, f, err
}

func (c *cloud) fipDisassociate(ctx context.Context, in FloatingIPIn, r sdk.Reporter) (FloatingIPOut, error) {
	s, f, err := c.fip(ctx, in.FloatingIP)
	if err != nil {
		return FloatingIPOut{}, err
	}
	if f.PortID == "" {
		r.Log(sdk.LevelInfo, fmt.Sprintf("floating IP %s is not associated", f.FloatingIP))
		return fipOut(f), nil
	}
	prevPort, prevIP := f.PortID, f.FixedIP
	// UpdateOpts turns a pointer to "" into "port_id": null.
	updated, err := floatingips.Update(ctx, s.network, f.ID, floatingips.UpdateOpts{PortID: new(string)}).Extract()
	if err != nil {
		return FloatingIPOut{}, apiError(err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("floating IP %s disassociated from port %s (%s)", f.FloatingIP, prevPort, prevIP))
	out := fipOut(updated)
	out.PreviousPortID, out.PreviousFixedIP = prevPort, prevIP
	return out, nil
}

func (c *cloud) fipAssociate(ctx context.Context, in FloatingIPAssociateIn, r sdk.Reporter) (FloatingIPOut, error) {
	s, f, err := c.fip(ctx, in.FloatingIP)
	if err != nil {
		return FloatingIPOut{}, err
	}
	port, err := s.findPort(ctx, in.Port)
	if err != nil {
		return FloatingIPOut{}, attrErr("port", err)
	}
	prevPort, prevIP := f.PortID, f.FixedIP
	switch {
	case f.PortID == port.ID && (in.FixedIP == "" || f.FixedIP == in.FixedIP):
		r.Log(sdk.LevelInfo, fmt.Sprintf("floating IP %s already points at port %s (%s)", f.FloatingIP, port.ID, f.FixedIP))
		out := fipOut(f)
		out.PreviousPortID, out.PreviousFixedIP = prevPort, prevIP
		return out, nil
	case f.PortID != "" && !in.Reassociate:
		return FloatingIPOut{}, attrErr("floating_ip", fmt.Errorf("floating IP %s is associated with port %s (%s): disassociate it first, or set reassociate = true", f.FloatingIP, f.PortID, f.FixedIP))
	}
	updated, err := floatingips.Update(ctx, s.network, f.ID, floatingips.UpdateOpts{PortID: &port.ID, FixedIP: in.FixedIP}).Extract()
	if err != nil {
		return FloatingIPOut{}, apiError(err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("floating IP %s associated with port %s (%s)", f.FloatingIP, port.ID, updated.FixedIP))
	out := fipOut(updated)
	out.PreviousPortID, out.PreviousFixedIP = prevPort, prevIP
	return out, nil
}

// portAndServer resolves the two inputs of port_detach and port_attach.
// A server that is gone is not an error when the port is not attached to
// anything (detaching from a deleted server is done).
func (c *cloud) portAndServer(ctx context.Context, in PortServerIn) (*session, *ports.Port, string, error) {
	s, err := c.session(ctx)
	if err != nil {
		return nil, nil, "", err
	}
	port, err := s.findPort(ctx, in.Port)
	if err != nil {
		return nil, nil, "", attrErr("port", err)
	}
	srv, err := s.findServer(ctx, "server", in.Server, in.AllTenants)
	if err != nil {
		if isNotFoundInput(err) && port.DeviceID != in.Server {
			return s, port, "", err
		}
		return nil, nil, "", err
	}
	return s, port, srv.ID, nil
}

func (c *cloud) portDetach(ctx context.Context, in PortServerIn, r sdk.Reporter) (PortOut, error) {
	timeout, err := parseDuration("timeout", in.Timeout, DefaultPortTimeout)
	if err != nil {
		return PortOut{}, err
	}
	ctx, cancel := bounded(ctx, timeout)
	defer cancel()
	s, port, serverID, err := c.portAndServer(ctx, in)
	if serverID == "" && port != nil {
		r.Log(sdk.LevelInfo, fmt.Sprintf("server %s is gone and port %s is not attached to it", in.Server, port.ID))
		return portOut(port), nil
	}
	if err != nil {
		return PortOut{}, err
	}
	if port.DeviceID != serverID {
		r.Log(sdk.LevelInfo, fmt.Sprintf("port %s is not attached to server %s", port.ID, serverID))
		return portOut(port), nil
	}
	if err := attachinterfaces.Delete(ctx, s.nova(mvDefault), serverID, port.ID).ExtractErr(); err != nil && !isNotFound(err) {
		return PortOut{}, apiError(err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("detach of port %s (%v) from server %s requested", port.ID, portOut(port).FixedIPs, serverID))
	// Nova detaches asynchronously; the port is free once Neutron shows
	// no device on it.
	var last *ports.Port
	what := fmt.Sprintf("port %s to be released by server %s", port.ID, serverID)
	err = waitFor(ctx, c.pollInterval(), timeout, what, func(ctx context.Context) (bool, string, error) {
		p, err := ports.Get(ctx, s.network, port.ID).Extract()
		if isNotFound(err) {
			return false, "", fmt.Errorf("port %s was deleted when detached: Nova had created it, so its fixed IPs %v are lost (use pre-made ports to keep them)", port.ID, portOut(port).FixedIPs)
		}
		if err != nil {
			return false, "", apiError(err)
		}
		last = p
		if p.DeviceID != serverID {
			return true, "", nil
		}
		return false, "device " + p.DeviceID, nil
	})
	if err != nil {
		return PortOut{}, notRetryable(err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("port %s detached; it keeps %v", port.ID, portOut(last).FixedIPs))
	return portOut(last), nil
}

func (c *cloud) portAttach(ctx context.Context, in PortServerIn, r sdk.Reporter) (PortOut, error) {
	timeout, err := parseDuration("timeout", in.Timeout, DefaultPortTimeout)
	if err != nil {
		return PortOut{}, err
	}
	ctx, cancel := bounded(ctx, timeout)
	defer cancel()
	s, port, serverID, err := c.portAndServer(ctx, in)
	if err != nil {
		return PortOut{}, err
	}
	switch port.DeviceID {
	case serverID:
		r.Log(sdk.LevelInfo, fmt.Sprintf("port %s is already attached to server %s", port.ID, serverID))
		return portOut(port), nil
	case "":
	default:
		return PortOut{}, attrErr("port", fmt.Errorf("port %s is in use by %s (%s): detach it first", port.ID, port.DeviceID, port.DeviceOwner))
	}
	att, err := attachinterfaces.Create(ctx, s.nova(mvDefault), serverID, attachinterfaces.CreateOpts{PortID: port.ID}).Extract()
	if err != nil {
		return PortOut{}, apiError(err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("port %s attached to server %s (%s)", port.ID, serverID, att.PortState))
	// Nova answers once the interface is plugged; Neutron may still show
	// the port unbound for a moment.
	var last *ports.Port
	what := fmt.Sprintf("port %s to show server %s", port.ID, serverID)
	err = waitFor(ctx, c.pollInterval(), timeout, what, func(ctx context.Context) (bool, string, error) {
		p, err := ports.Get(ctx, s.network, port.ID).Extract()
		if err != nil {
			return false, "", apiError(err)
		}
		last = p
		return p.DeviceID == serverID, "device " + p.DeviceID, nil
	})
	if err != nil {
		return PortOut{}, notRetryable(err)
	}
	return portOut(last), nil
}

// checkPort answers Check for port_detach (attached false) and
// port_attach (attached true).
func (c *cloud) checkPort(ctx context.Context, in PortServerIn, attached bool) (sdk.CheckResult, PortOut, error) {
	s, err := c.session(ctx)
	if err != nil {
		return sdk.Unknown, PortOut{}, err
	}
	port, err := s.findPort(ctx, in.Port)
	if err != nil {
		return sdk.Unknown, PortOut{}, attrErr("port", err)
	}
	srv, err := s.findServer(ctx, "server", in.Server, in.AllTenants)
	switch {
	case err == nil:
	case isNotFoundInput(err) && !attached:
		return sdk.Applied, portOut(port), nil
	default:
		return sdk.Unknown, PortOut{}, err
	}
	if (port.DeviceID == srv.ID) == attached {
		return sdk.Applied, portOut(port), nil
	}
	return sdk.NotApplied, PortOut{}, nil
}
