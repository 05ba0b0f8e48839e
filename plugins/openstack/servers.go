package openstack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// DefaultServerTimeout bounds the waits of server actions whose timeout
// input is unset.
const DefaultServerTimeout = 10 * time.Minute

// ServerOut is what the server actions return about a server.
type ServerOut struct {
	ID               string            `cty:"id"`
	Name             string            `cty:"name"`
	Status           string            `cty:"status" help:"Nova's status: ACTIVE, SHUTOFF, BUILD, REBUILD, ERROR, ..., DELETED once gone."`
	Host             string            `cty:"host" help:"Compute host (admin only; empty otherwise)."`
	AccessIPv4       string            `cty:"access_ipv4" help:"accessIPv4, or when unset the first fixed IPv4 address (networks by name)."`
	AccessIPv6       string            `cty:"access_ipv6"`
	VMState          string            `cty:"vm_state"`
	TaskState        string            `cty:"task_state"`
	PowerState       int               `cty:"power_state"`
	Flavor           string            `cty:"flavor" help:"Flavor id (before microversion 2.47) or name."`
	VCPUs            int               `cty:"vcpus" help:"The flavor's vCPUs, when Nova embeds it (2.47 and later)."`
	RAM              int               `cty:"ram" help:"The flavor's RAM in MiB, when Nova embeds it (2.47 and later)."`
	Image            string            `cty:"image" help:"Image id; empty for a server booted from a volume."`
	AvailabilityZone string            `cty:"availability_zone"`
	ProjectID        string            `cty:"project_id"`
	FixedIPs         []string          `cty:"fixed_ips"`
	FloatingIPs      []string          `cty:"floating_ips"`
	Addresses        []AddressOut      `cty:"addresses"`
	Metadata         map[string]string `cty:"metadata"`
	Fault            string            `cty:"fault" help:"The fault message of a server in ERROR."`
	Created          string            `cty:"created"`
	Updated          string            `cty:"updated"`
}

// AddressOut is one address of a server.
type AddressOut struct {
	Network string `cty:"network"`
	Address string `cty:"address"`
	Type    string `cty:"type" help:"fixed or floating."`
	Version int    `cty:"version"`
	MAC     string `cty:"mac"`
}

// serverOut flattens gophercloud's Server.
func serverOut(s *servers.Server) ServerOut {
	o := ServerOut{
		ID: s.ID, Name: s.Name, Status: s.Status, Host: s.Host,
		AccessIPv4: s.AccessIPv4, AccessIPv6: s.AccessIPv6,
		VMState: s.VmState, TaskState: s.TaskState, PowerState: int(s.PowerState),
		AvailabilityZone: s.AvailabilityZone, ProjectID: s.TenantID,
		Fault: s.Fault.Message, Metadata: map[string]string{},
		FixedIPs: []string{}, FloatingIPs: []string{}, Addresses: []AddressOut{},
	}
	for k, v := range s.Metadata {
		o.Metadata[k] = v
	}
	if !s.Created.IsZero() {
		o.Created = s.Created.UTC().Format(time.RFC3339)
	}
	if !s.Updated.IsZero() {
		o.Updated = s.Updated.UTC().Format(time.RFC3339)
	}
	if id, ok := s.Image["id"].(string); ok {
		o.Image = id
	}
	o.Flavor, o.VCPUs, o.RAM = flavorOf(s)
	for _, network := range sortedKeys(s.Addresses) {
		list, _ := s.Addresses[network].([]any)
		for _, item := range list {
			m, _ := item.(map[string]any)
			a := AddressOut{Network: network}
			a.Address, _ = m["addr"].(string)
			a.Type, _ = m["OS-EXT-IPS:type"].(string)
			a.MAC, _ = m["OS-EXT-IPS-MAC:mac_addr"].(string)
			a.Version = intOf(m["version"])
			if a.Type == "" {
				a.Type = "fixed"
			}
			o.Addresses = append(o.Addresses, a)
			if a.Type == "floating" {
				o.FloatingIPs = append(o.FloatingIPs, a.Address)
			} else {
				o.FixedIPs = append(o.FixedIPs, a.Address)
			}
		}
	}
	if o.AccessIPv4 == "" {
		for _, a := range o.Addresses {
			if a.Type == "fixed" && a.Version == 4 {
				o.AccessIPv4 = a.Address
				break
			}
		}
	}
	return o
}

// flavorOf reads the server's flavor: {"id": ...} before 2.47, the
// embedded flavor (original_name, vcpus, ram) from 2.47 on.
func flavorOf(s *servers.Server) (ref string, vcpus, ram int) {
	if id, ok := s.Flavor["id"].(string); ok {
		ref = id
	}
	if name, ok := s.Flavor["original_name"].(string); ok && ref == "" {
		ref = name
	}
	return ref, intOf(s.Flavor["vcpus"]), intOf(s.Flavor["ram"])
}

// diskGB is what Nova's placement claims as DISK_GB for a flavor (nova
// scheduler/utils.py resources_from_flavor): the root disk, unless the
// server boots from a volume, plus ephemeral, plus swap (MB) rounded up
// to GB.
func diskGB(root, ephemeral, swapMB int, bootFromVolume bool) int {
	if bootFromVolume {
		root = 0
	}
	return root + ephemeral + (swapMB+1023)/1024
}

// bootsFromVolume says the server has no image: its root disk is a volume.
func bootsFromVolume(s *servers.Server) bool {
	id, _ := s.Image["id"].(string)
	return id == ""
}

func intOf(v any) int {
	switch n := v.(type) {
	case float64:
		return int(n)
	case int:
		return n
	case json.Number:
		i, _ := n.Int64()
		return int(i)
	case string:
		var i int
		_, _ = fmt.Sscan(n, &i)
		return i
	}
	return 0
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)

// looksLikeID says whether ref is worth a GET by id before a lookup by
// name: a UUID, or a single path-safe word.
func looksLikeID(ref string) bool {
	return uuidRE.MatchString(ref)
}

// findServer resolves a server given by id or name. A name must match
// exactly one server (Nova's name filter is a regular expression, so the
// answer is filtered again here).
func (s *session) findServer(ctx context.Context, attr, ref string, allTenants bool) (*servers.Server, error) {
	if ref == "" {
		return nil, attrErr(attr, fmt.Errorf("%s is empty", attr))
	}
	nc := s.nova(mvDefault)
	if looksLikeID(ref) {
		srv, err := servers.Get(ctx, nc, ref).Extract()
		if err == nil {
			return srv, nil
		}
		if !isNotFound(err) {
			return nil, apiError(err)
		}
	}
	pages, err := servers.List(nc, servers.ListOpts{Name: ref, AllTenants: allTenants}).AllPages(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	all, err := servers.ExtractServers(pages)
	if err != nil {
		return nil, err
	}
	var found []servers.Server
	for _, srv := range all {
		if srv.Name == ref {
			found = append(found, srv)
		}
	}
	switch len(found) {
	case 0:
		return nil, notFoundError(attr, "server", ref)
	case 1:
		return &found[0], nil
	}
	ids := make([]string, len(found))
	for i, srv := range found {
		ids[i] = srv.ID
	}
	return nil, attrErr(attr, fmt.Errorf("%d servers are named %q (%s): give the id", len(found), ref, strings.Join(ids, ", ")))
}

// getServer reads a server by id; a server that is gone is (nil, nil).
func (s *session) getServer(ctx context.Context, id string) (*servers.Server, error) {
	srv, err := servers.Get(ctx, s.nova(mvDefault), id).Extract()
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, apiError(err)
	}
	return srv, nil
}

// settled says the server is in one of statuses with no task running.
func settled(srv *servers.Server, statuses ...string) bool {
	if srv.TaskState != "" {
		return false
	}
	for _, st := range statuses {
		if srv.Status == st {
			return true
		}
	}
	return false
}

func describeServer(srv *servers.Server) string {
	d := srv.Status
	if srv.TaskState != "" {
		d += "/" + srv.TaskState
	}
	if srv.Host != "" {
		d += " on " + srv.Host
	}
	return d
}

// serverError is a server that went to ERROR while an action waited.
func serverError(srv *servers.Server) error {
	msg := fmt.Sprintf("server %s (%s) is in ERROR", srv.Name, srv.ID)
	if srv.Fault.Message != "" {
		msg += ": " + srv.Fault.Message
	}
	return errors.New(msg)
}

// waitStatus waits until the server settles in one of statuses. ERROR
// ends the wait at once (unless ERROR is what is awaited). "DELETED"
// waits until the server is gone.
func (c *cloud) waitStatus(ctx context.Context, s *session, id string, timeout time.Duration, statuses ...string) (*servers.Server, error) {
	var last *servers.Server
	wantDeleted, wantError := false, false
	for _, st := range statuses {
		wantDeleted = wantDeleted || st == "DELETED"
		wantError = wantError || st == "ERROR"
	}
	what := fmt.Sprintf("server %s to be %s", id, strings.Join(statuses, " or "))
	err := waitFor(ctx, c.pollInterval(), timeout, what, func(ctx context.Context) (bool, string, error) {
		srv, err := s.getServer(ctx, id)
		if err != nil {
			return false, "", err
		}
		if srv == nil {
			if wantDeleted {
				return true, "", nil
			}
			return false, "", fmt.Errorf("server %s disappeared", id)
		}
		last = srv
		if settled(srv, statuses...) {
			return true, "", nil
		}
		if srv.Status == "ERROR" && !wantError && srv.TaskState == "" {
			return false, "", serverError(srv)
		}
		return false, describeServer(srv), nil
	})
	if err != nil {
		return last, err
	}
	if last == nil || wantDeleted && last.Status != "DELETED" {
		if last != nil {
			gone := *last
			gone.Status = "DELETED"
			return &gone, nil
		}
	}
	return last, nil
}

// Inputs and outputs of the server actions.
type (
	ServerRefIn struct {
		Server     string `cty:"server" runbook:"required" help:"Server id or exact name."`
		AllTenants bool   `cty:"all_tenants" help:"Look the name up in every project (admin)."`
	}
	ServerListIn struct {
		Host       string `cty:"host" help:"Only servers on this compute host (admin)."`
		Status     string `cty:"status" help:"Only servers in this status, such as ACTIVE."`
		Name       string `cty:"name" help:"Nova's name filter (a regular expression)."`
		AllTenants bool   `cty:"all_tenants" help:"Servers of every project (admin)."`
	}
	ServerListOut struct {
		Servers []ServerOut `cty:"servers"`
		IDs     []string    `cty:"ids"`
		Names   []string    `cty:"names"`
		Count   int         `cty:"count"`
	}
	ServerWaitIn struct {
		Server     string `cty:"server" runbook:"required" help:"Server id or exact name."`
		Status     string `cty:"status" help:"Status to wait for: ACTIVE (default), SHUTOFF, DELETED (gone), ... ERROR fails the wait at once unless awaited."`
		Timeout    string `cty:"timeout" help:"How long to wait, such as \"10m\" (the default)."`
		AllTenants bool   `cty:"all_tenants" help:"Look the name up in every project (admin)."`
	}
	ServerPowerIn struct {
		Server     string `cty:"server" runbook:"required" help:"Server id or exact name."`
		Wait       *bool  `cty:"wait" help:"Wait until the server settles (default true)."`
		Timeout    string `cty:"timeout" help:"How long to wait, such as \"10m\" (the default)."`
		AllTenants bool   `cty:"all_tenants" help:"Look the name up in every project (admin)."`
	}
	ServerRebootIn struct {
		Server     string `cty:"server" runbook:"required" help:"Server id or exact name."`
		Type       string `cty:"type" help:"SOFT (default) or HARD."`
		Wait       *bool  `cty:"wait" help:"Wait until the server is ACTIVE again (default true)."`
		Timeout    string `cty:"timeout" help:"How long to wait, such as \"10m\" (the default)."`
		AllTenants bool   `cty:"all_tenants" help:"Look the name up in every project (admin)."`
	}
	ServerDeleteOut struct {
		ID      string `cty:"id"`
		Name    string `cty:"name"`
		Status  string `cty:"status" help:"DELETED once gone; the last status seen when not waiting."`
		Existed bool   `cty:"existed" help:"False when there was nothing to delete."`
	}
	ServerCreateIn struct {
		Name             string            `cty:"name" runbook:"required"`
		Image            string            `cty:"image" runbook:"required" help:"Image id or name."`
		Flavor           string            `cty:"flavor" runbook:"required" help:"Flavor id or name."`
		Networks         []string          `cty:"networks" help:"Networks (ids or names), one interface each."`
		Ports            []string          `cty:"ports" help:"Pre-made ports (ids or names): the server keeps their fixed IPs."`
		Port             string            `cty:"port" help:"One pre-made port, as ports."`
		KeyName          string            `cty:"key_name"`
		UserData         string            `cty:"user_data" help:"Cloud-init user data (base64-encoded by the provider when it is not already)."`
		Metadata         map[string]string `cty:"metadata"`
		AvailabilityZone string            `cty:"availability_zone" help:"Zone, or ZONE:HOST to pin a host (admin)."`
		SecurityGroups   []string          `cty:"security_groups" help:"Security group names."`
		ConfigDrive      *bool             `cty:"config_drive"`
		Wait             *bool             `cty:"wait" help:"Wait until ACTIVE (default true); ERROR fails the step."`
		Timeout          string            `cty:"timeout" help:"How long to wait, such as \"10m\" (the default)."`
	}
	ServerRebuildIn struct {
		Server     string            `cty:"server" runbook:"required" help:"Server id or exact name."`
		Image      string            `cty:"image" help:"Image id or name; the server's own image when unset."`
		Name       string            `cty:"name" help:"New name."`
		Metadata   map[string]string `cty:"metadata" help:"Replaces the server's metadata."`
		Wait       *bool             `cty:"wait" help:"Wait until ACTIVE (default true)."`
		Timeout    string            `cty:"timeout" help:"How long to wait, such as \"10m\" (the default)."`
		AllTenants bool              `cty:"all_tenants" help:"Look the name up in every project (admin)."`
	}
)

func (c *cloud) registerServers(p *sdk.Provider) {
	p.Action("server_get", sdk.Action[ServerRefIn, ServerOut]{
		Description: "Reads a server by id or name.",
		Idempotent:  true,
		Apply: func(ctx context.Context, in ServerRefIn, _ sdk.Reporter) (ServerOut, error) {
			return c.serverGet(ctx, in)
		},
		Plan: func(ctx context.Context, in ServerRefIn) (ServerOut, []string, error) {
			out, err := c.serverGet(ctx, in)
			return out, sdk.AllOutputs(out), err
		},
	})
	p.Action("server_list", sdk.Action[ServerListIn, ServerListOut]{
		Description: "Lists servers (details), filtered by host, status, name.",
		Idempotent:  true,
		Apply: func(ctx context.Context, in ServerListIn, _ sdk.Reporter) (ServerListOut, error) {
			return c.serverList(ctx, in)
		},
		Plan: func(ctx context.Context, in ServerListIn) (ServerListOut, []string, error) {
			out, err := c.serverList(ctx, in)
			return out, sdk.AllOutputs(out), err
		},
	})
	p.Action("server_wait", sdk.Action[ServerWaitIn, ServerOut]{
		Description: "Waits until a server settles in a status (no task running); ERROR fails at once.",
		Idempotent:  true,
		Apply:       c.serverWait,
	})
	p.Action("server_stop", sdk.Action[ServerPowerIn, ServerOut]{
		Description: "Stops a server (os-stop) and waits until SHUTOFF; a stopped server is left as is.",
		Mutating:    true, Idempotent: true,
		Apply: func(ctx context.Context, in ServerPowerIn, r sdk.Reporter) (ServerOut, error) {
			return c.serverPower(ctx, in, r, "stop")
		},
		Plan:  planServer(c, func(in ServerPowerIn) (string, bool) { return in.Server, in.AllTenants }),
		Check: c.checkPower("SHUTOFF"),
	})
	p.Action("server_start", sdk.Action[ServerPowerIn, ServerOut]{
		Description: "Starts a server (os-start) and waits until ACTIVE; a running server is left as is.",
		Mutating:    true, Idempotent: true,
		Apply: func(ctx context.Context, in ServerPowerIn, r sdk.Reporter) (ServerOut, error) {
			return c.serverPower(ctx, in, r, "start")
		},
		Plan:  planServer(c, func(in ServerPowerIn) (string, bool) { return in.Server, in.AllTenants }),
		Check: c.checkPower("ACTIVE"),
	})
	p.Action("server_reboot", sdk.Action[ServerRebootIn, ServerOut]{
		Description: "Reboots a server (SOFT or HARD) and waits until it is ACTIVE again.",
		Mutating:    true,
		Apply:       c.serverReboot,
		Plan:        planServer(c, func(in ServerRebootIn) (string, bool) { return in.Server, in.AllTenants }),
		Check: func(ctx context.Context, in ServerRebootIn, started time.Time) (sdk.CheckResult, ServerOut, error) {
			return c.checkInstanceAction(ctx, in.Server, in.AllTenants, started, "reboot", "ACTIVE")
		},
	})
	p.Action("server_delete", sdk.Action[ServerPowerIn, ServerDeleteOut]{
		Description: "Deletes a server and waits until it is gone; a server already gone is success.",
		Mutating:    true, Idempotent: true,
		Apply: c.serverDelete,
		Check: func(ctx context.Context, in ServerPowerIn, _ time.Time) (sdk.CheckResult, ServerDeleteOut, error) {
			s, err := c.session(ctx)
			if err != nil {
				return sdk.Unknown, ServerDeleteOut{}, err
			}
			srv, err := s.findServer(ctx, "server", in.Server, in.AllTenants)
			if isNotFoundInput(err) {
				return sdk.Applied, ServerDeleteOut{ID: in.Server, Name: in.Server, Status: "DELETED", Existed: true}, nil
			}
			if err != nil {
				return sdk.Unknown, ServerDeleteOut{}, err
			}
			_ = srv
			return sdk.NotApplied, ServerDeleteOut{}, nil
		},
	})
	p.Action("server_create", sdk.Action[ServerCreateIn, ServerOut]{
		Description: "Creates a server (image, flavor, networks or pre-made ports) and waits until ACTIVE.",
		Mutating:    true,
		Apply:       c.serverCreate,
		Check:       c.checkCreate,
	})
	p.Action("server_rebuild", sdk.Action[ServerRebuildIn, ServerOut]{
		Description: "Rebuilds a server from an image (its own by default) and waits until ACTIVE.",
		Mutating:    true,
		Apply:       c.serverRebuild,
		Plan:        planServer(c, func(in ServerRebuildIn) (string, bool) { return in.Server, in.AllTenants }),
		Check: func(ctx context.Context, in ServerRebuildIn, started time.Time) (sdk.CheckResult, ServerOut, error) {
			return c.checkInstanceAction(ctx, in.Server, in.AllTenants, started, "rebuild", "ACTIVE")
		},
	})
}

// planServer is the dry-run of an action on one server: the server is
// looked up (so that a wrong name fails the plan) and its id and name are
// known; the rest is known after apply.
func planServer[In any](c *cloud, ref func(In) (string, bool)) func(context.Context, In) (ServerOut, []string, error) {
	return func(ctx context.Context, in In) (ServerOut, []string, error) {
		s, err := c.session(ctx)
		if err != nil {
			return ServerOut{}, nil, err
		}
		name, all := ref(in)
		srv, err := s.findServer(ctx, "server", name, all)
		if err != nil {
			return ServerOut{}, nil, err
		}
		return ServerOut{ID: srv.ID, Name: srv.Name}, []string{"id", "name"}, nil
	}
}

func (c *cloud) serverGet(ctx context.Context, in ServerRefIn) (ServerOut, error) {
	s, err := c.session(ctx)
	if err != nil {
		return ServerOut{}, err
	}
	srv, err := s.findServer(ctx, "server", in.Server, in.AllTenants)
	if err != nil {
		return ServerOut{}, err
	}
	return serverOut(srv), nil
}

func (c *cloud) serverList(ctx context.Context, in ServerListIn) (ServerListOut, error) {
	s, err := c.session(ctx)
	if err != nil {
		return ServerListOut{}, err
	}
	all, err := s.listServers(ctx, servers.ListOpts{Host: in.Host, Status: in.Status, Name: in.Name, AllTenants: in.AllTenants})
	if err != nil {
		return ServerListOut{}, err
	}
	out := ServerListOut{Servers: []ServerOut{}, IDs: []string{}, Names: []string{}, Count: len(all)}
	for i := range all {
		out.Servers = append(out.Servers, serverOut(&all[i]))
		out.IDs = append(out.IDs, all[i].ID)
		out.Names = append(out.Names, all[i].Name)
	}
	return out, nil
}

func (s *session) listServers(ctx context.Context, opts servers.ListOpts) ([]servers.Server, error) {
	pages, err := servers.List(s.nova(mvDefault), opts).AllPages(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	return servers.ExtractServers(pages)
}

func (c *cloud) serverWait(ctx context.Context, in ServerWaitIn, r sdk.Reporter) (ServerOut, error) {
	timeout, err := parseDuration("timeout", in.Timeout, DefaultServerTimeout)
	if err != nil {
		return ServerOut{}, err
	}
	ctx, cancel := bounded(ctx, timeout)
	defer cancel()
	want := strings.ToUpper(strings.TrimSpace(in.Status))
	if want == "" {
		want = "ACTIVE"
	}
	s, err := c.session(ctx)
	if err != nil {
		return ServerOut{}, err
	}
	srv, err := s.findServer(ctx, "server", in.Server, in.AllTenants)
	if isNotFoundInput(err) && want == "DELETED" {
		return ServerOut{ID: in.Server, Name: in.Server, Status: "DELETED", FixedIPs: []string{}, FloatingIPs: []string{}, Addresses: []AddressOut{}, Metadata: map[string]string{}}, nil
	}
	if err != nil {
		return ServerOut{}, err
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("waiting for server %s (%s) to be %s; now %s", srv.Name, srv.ID, want, describeServer(srv)))
	last, err := c.waitStatus(ctx, s, srv.ID, timeout, want)
	if err != nil {
		return ServerOut{}, err
	}
	return serverOut(last), nil
}

func (c *cloud) serverPower(ctx context.Context, in ServerPowerIn, r sdk.Reporter, op string) (ServerOut, error) {
	timeout, err := parseDuration("timeout", in.Timeout, DefaultServerTimeout)
	if err != nil {
		return ServerOut{}, err
	}
	ctx, cancel := bounded(ctx, timeout)
	defer cancel()
	s, err := c.session(ctx)
	if err != nil {
		return ServerOut{}, err
	}
	srv, err := s.findServer(ctx, "server", in.Server, in.AllTenants)
	if err != nil {
		return ServerOut{}, err
	}
	target := map[string]string{"stop": "SHUTOFF", "start": "ACTIVE"}[op]
	if settled(srv, target) {
		r.Log(sdk.LevelInfo, fmt.Sprintf("server %s (%s) is already %s", srv.Name, srv.ID, target))
		return serverOut(srv), nil
	}
	var res servers.StopResult
	if op == "stop" {
		res = servers.Stop(ctx, s.nova(mvDefault), srv.ID)
	} else {
		res = servers.StopResult(servers.Start(ctx, s.nova(mvDefault), srv.ID))
	}
	if err := res.ExtractErr(); err != nil {
		return ServerOut{}, apiError(err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("%s requested for server %s (%s)", op, srv.Name, srv.ID))
	if !boolOr(in.Wait, true) {
		return serverOut(srv), nil
	}
	last, err := c.waitStatus(ctx, s, srv.ID, timeout, target)
	if err != nil {
		return ServerOut{}, err
	}
	return serverOut(last), nil
}

func (c *cloud) serverReboot(ctx context.Context, in ServerRebootIn, r sdk.Reporter) (ServerOut, error) {
	timeout, err := parseDuration("timeout", in.Timeout, DefaultServerTimeout)
	if err != nil {
		return ServerOut{}, err
	}
	ctx, cancel := bounded(ctx, timeout)
	defer cancel()
	method := servers.SoftReboot
	switch strings.ToUpper(in.Type) {
	case "", "SOFT":
	case "HARD":
		method = servers.HardReboot
	default:
		return ServerOut{}, attrErr("type", fmt.Errorf("type %q is not SOFT or HARD", in.Type))
	}
	s, err := c.session(ctx)
	if err != nil {
		return ServerOut{}, err
	}
	srv, err := s.findServer(ctx, "server", in.Server, in.AllTenants)
	if err != nil {
		return ServerOut{}, err
	}
	if err := servers.Reboot(ctx, s.nova(mvDefault), srv.ID, servers.RebootOpts{Type: method}).ExtractErr(); err != nil {
		return ServerOut{}, apiError(err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("%s reboot requested for server %s (%s)", method, srv.Name, srv.ID))
	if !boolOr(in.Wait, true) {
		return serverOut(srv), nil
	}
	last, err := c.waitStatus(ctx, s, srv.ID, timeout, "ACTIVE")
	if err != nil {
		return ServerOut{}, err
	}
	return serverOut(last), nil
}

func (c *cloud) serverDelete(ctx context.Context, in ServerPowerIn, r sdk.Reporter) (ServerDeleteOut, error) {
	timeout, err := parseDuration("timeout", in.Timeout, DefaultServerTimeout)
	if err != nil {
		return ServerDeleteOut{}, err
	}
	ctx, cancel := bounded(ctx, timeout)
	defer cancel()
	s, err := c.session(ctx)
	if err != nil {
		return ServerDeleteOut{}, err
	}
	srv, err := s.findServer(ctx, "server", in.Server, in.AllTenants)
	if isNotFoundInput(err) {
		r.Log(sdk.LevelInfo, fmt.Sprintf("server %s is already gone", in.Server))
		return ServerDeleteOut{ID: in.Server, Name: in.Server, Status: "DELETED", Existed: false}, nil
	}
	if err != nil {
		return ServerDeleteOut{}, err
	}
	out := ServerDeleteOut{ID: srv.ID, Name: srv.Name, Status: srv.Status, Existed: true}
	if err := servers.Delete(ctx, s.nova(mvDefault), srv.ID).ExtractErr(); err != nil && !isNotFound(err) {
		return ServerDeleteOut{}, apiError(err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("delete requested for server %s (%s)", srv.Name, srv.ID))
	if !boolOr(in.Wait, true) {
		return out, nil
	}
	if _, err := c.waitStatus(ctx, s, srv.ID, timeout, "DELETED"); err != nil {
		return ServerDeleteOut{}, err
	}
	out.Status = "DELETED"
	return out, nil
}

func (c *cloud) serverCreate(ctx context.Context, in ServerCreateIn, r sdk.Reporter) (ServerOut, error) {
	timeout, err := parseDuration("timeout", in.Timeout, DefaultServerTimeout)
	if err != nil {
		return ServerOut{}, err
	}
	ctx, cancel := bounded(ctx, timeout)
	defer cancel()
	s, err := c.session(ctx)
	if err != nil {
		return ServerOut{}, err
	}
	imageID, err := s.resolveImage(ctx, "image", in.Image)
	if err != nil {
		return ServerOut{}, err
	}
	flavorID, err := s.resolveFlavor(ctx, "flavor", in.Flavor)
	if err != nil {
		return ServerOut{}, err
	}
	var nets []servers.Network
	for i, n := range in.Networks {
		id, err := s.resolveNetwork(ctx, n)
		if err != nil {
			return ServerOut{}, sdk.AttributePathError(ctyPath("networks", i), err)
		}
		nets = append(nets, servers.Network{UUID: id})
	}
	ports := append([]string(nil), in.Ports...)
	if in.Port != "" {
		ports = append(ports, in.Port)
	}
	for i, p := range ports {
		port, err := s.findPort(ctx, p)
		if err != nil {
			if i >= len(in.Ports) {
				return ServerOut{}, attrErr("port", err)
			}
			return ServerOut{}, sdk.AttributePathError(ctyPath("ports", i), err)
		}
		nets = append(nets, servers.Network{Port: port.ID})
	}
	nc := s.nova(mvDefault)
	opts := servers.CreateOpts{
		Name: in.Name, ImageRef: imageID, FlavorRef: flavorID,
		AvailabilityZone: in.AvailabilityZone, Metadata: in.Metadata,
		SecurityGroups: in.SecurityGroups, ConfigDrive: in.ConfigDrive,
	}
	if in.UserData != "" {
		opts.UserData = []byte(in.UserData)
	}
	switch {
	case len(nets) > 0:
		opts.Networks = nets
	case s.at(mvDefault).atLeast(mv2_37):
		opts.Networks = "auto" // required from 2.37: let Nova pick as before
	}
	created, err := servers.Create(ctx, nc, keyNameOpts{opts, in.KeyName}, nil).Extract()
	if err != nil {
		return ServerOut{}, apiError(err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("server %s (%s) requested", in.Name, created.ID))
	if !boolOr(in.Wait, true) {
		srv, err := s.getServer(ctx, created.ID)
		if err != nil || srv == nil {
			// The server was created: a failed read must not fail (and retry) the step.
			return ServerOut{ID: created.ID, Name: in.Name, Status: "BUILD", FixedIPs: []string{}, FloatingIPs: []string{}, Addresses: []AddressOut{}, Metadata: map[string]string{}}, nil
		}
		return serverOut(srv), nil
	}
	last, err := c.waitStatus(ctx, s, created.ID, timeout, "ACTIVE")
	if err != nil {
		return ServerOut{}, notRetryable(fmt.Errorf("server %s (%s) was created but did not become ACTIVE: %w", in.Name, created.ID, err))
	}
	return serverOut(last), nil
}

// keyNameOpts adds key_name, which gophercloud's CreateOpts moved to the
// keypairs extension.
type keyNameOpts struct {
	servers.CreateOpts
	KeyName string
}

func (o keyNameOpts) ToServerCreateMap() (map[string]any, error) {
	b, err := o.CreateOpts.ToServerCreateMap()
	if err != nil {
		return nil, err
	}
	if o.KeyName != "" {
		b["server"].(map[string]any)["key_name"] = o.KeyName
	}
	return b, nil
}

// notRetryable strips the retryable mark: once a change was made, a retry
// of the step would make it again.
func notRetryable(err error) error {
	if err == nil {
		return nil
	}
	return &plainError{err}
}

type plainError struct{ err error }

func (e *plainError) Error() string { return e.err.Error() }

// Unwrap keeps the chain for errors.Is (cancellation) but hides the
// retryable wrapper: the SDK looks for it with errors.As.
func (e *plainError) Unwrap() error {
	var he *HTTPError
	if errors.As(e.err, &he) {
		return he
	}
	if errors.Is(e.err, context.Canceled) {
		return context.Canceled
	}
	if errors.Is(e.err, context.DeadlineExceeded) {
		return context.DeadlineExceeded
	}
	return nil
}

func (c *cloud) serverRebuild(ctx context.Context, in ServerRebuildIn, r sdk.Reporter) (ServerOut, error) {
	timeout, err := parseDuration("timeout", in.Timeout, DefaultServerTimeout)
	if err != nil {
		return ServerOut{}, err
	}
	ctx, cancel := bounded(ctx, timeout)
	defer cancel()
	s, err := c.session(ctx)
	if err != nil {
		return ServerOut{}, err
	}
	srv, err := s.findServer(ctx, "server", in.Server, in.AllTenants)
	if err != nil {
		return ServerOut{}, err
	}
	imageID, _ := srv.Image["id"].(string)
	if in.Image != "" {
		if imageID, err = s.resolveImage(ctx, "image", in.Image); err != nil {
			return ServerOut{}, err
		}
	}
	if imageID == "" {
		return ServerOut{}, attrErr("image", fmt.Errorf("server %s has no image (booted from a volume?): give image", srv.Name))
	}
	opts := servers.RebuildOpts{ImageRef: imageID, Name: in.Name, Metadata: in.Metadata}
	if _, err := servers.Rebuild(ctx, s.nova(mvDefault), srv.ID, opts).Extract(); err != nil {
		return ServerOut{}, apiError(err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("rebuild of server %s (%s) from image %s requested", srv.Name, srv.ID, imageID))
	if !boolOr(in.Wait, true) {
		return serverOut(srv), nil
	}
	last, err := c.waitStatus(ctx, s, srv.ID, timeout, "ACTIVE")
	if err != nil {
		return ServerOut{}, notRetryable(err)
	}
	return serverOut(last), nil
}

// ctyPath is the path of element i of the list input name.
func ctyPath(name string, i int) cty.Path { return cty.GetAttrPath(name).IndexInt(i) }
