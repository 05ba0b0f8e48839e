package openstack

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	gcos "github.com/gophercloud/gophercloud/v2/openstack"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/attachinterfaces"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/hypervisors"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/services"
	"github.com/gophercloud/gophercloud/v2/openstack/identity/v3/tokens"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
	"github.com/gophercloud/gophercloud/v2/openstack/placement/v1/resourceproviders"
)

// The gophercloud v2 clients a provider uses work against the simulator on
// 127.0.0.1, through discovery, the catalog and microversions.

const clientEstate = `{
  "application_credentials": [{"id": "ac1", "name": "ci", "secret": "s3cret", "user": "admin"}],
  "ports": [{"name": "manager-port", "network": "private", "fixed_ip": "10.0.0.50"}],
  "floating_ips": [{"floating_ip_address": "172.24.4.100"}],
  "servers": [
    {"name": "victim-1", "host": "compute-1", "networks": ["private"]},
    {"name": "victim-2", "host": "compute-1", "networks": ["private"], "flavor": "m1.medium"}
  ]
}`

type clients struct {
	compute, network, image, placement *gophercloud.ServiceClient
	provider                           *gophercloud.ProviderClient
}

func newClients(t *testing.T, s *sim, ao gophercloud.AuthOptions) clients {
	t.Helper()
	ctx := context.Background()
	pc, err := gcos.AuthenticatedClient(ctx, ao)
	if err != nil {
		t.Fatalf("AuthenticatedClient: %v", err)
	}
	var c clients
	c.provider = pc
	if c.compute, err = gcos.NewComputeV2(pc, gophercloud.EndpointOpts{Region: "RegionOne"}); err != nil {
		t.Fatal(err)
	}
	if c.network, err = gcos.NewNetworkV2(pc, gophercloud.EndpointOpts{}); err != nil {
		t.Fatal(err)
	}
	if c.image, err = gcos.NewImageV2(pc, gophercloud.EndpointOpts{}); err != nil {
		t.Fatal(err)
	}
	if c.placement, err = gcos.NewPlacementV1(pc, gophercloud.EndpointOpts{}); err != nil {
		t.Fatal(err)
	}
	return c
}

func adminAuth(s *sim) gophercloud.AuthOptions {
	return gophercloud.AuthOptions{IdentityEndpoint: s.url + "/v3", Username: "admin", Password: "admin", TenantName: "admin", DomainName: "Default"}
}

func TestGophercloudAuthentication(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, clientEstate)})
	ctx := context.Background()
	for name, ao := range map[string]gophercloud.AuthOptions{
		"versioned password":     adminAuth(s),
		"unversioned (discover)": {IdentityEndpoint: s.url, Username: "admin", Password: "admin", TenantName: "admin", DomainID: "default"},
		"application credential": {IdentityEndpoint: s.url + "/v3", ApplicationCredentialID: "ac1", ApplicationCredentialSecret: "s3cret"},
		"application credential by name": {IdentityEndpoint: s.url + "/v3", ApplicationCredentialName: "ci", ApplicationCredentialSecret: "s3cret",
			Username: "admin", DomainName: "Default"},
	} {
		t.Run(name, func(t *testing.T) {
			c := newClients(t, s, ao)
			if _, err := flavors.ListDetail(c.compute, nil).AllPages(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
	_, err := gcos.AuthenticatedClient(ctx, gophercloud.AuthOptions{IdentityEndpoint: s.url + "/v3", Username: "admin", Password: "nope", TenantName: "admin", DomainName: "Default"})
	if !gophercloud.ResponseCodeIs(err, http.StatusUnauthorized) {
		t.Fatalf("bad password: %v", err)
	}
	// The token's project, user and catalog, through gophercloud's Extract*.
	c := newClients(t, s, adminAuth(s))
	ident, err := gcos.NewIdentityV3(c.provider, gophercloud.EndpointOpts{})
	if err != nil {
		t.Fatal(err)
	}
	res := tokens.Get(ctx, ident, c.provider.Token())
	p, err := res.ExtractProject()
	if err != nil || p.Name != "admin" || p.Domain.Name != "Default" {
		t.Fatalf("project %+v %v", p, err)
	}
	cat, err := res.ExtractServiceCatalog()
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]bool{}
	for _, e := range cat.Entries {
		types[e.Type] = true
	}
	for _, want := range []string{"identity", "compute", "network", "image", "placement"} {
		if !types[want] {
			t.Fatalf("catalog lacks %s: %+v", want, cat)
		}
	}
}

// waitStatus polls a server through gophercloud while advancing the fake
// clock, as a runbook would poll a real cloud.
func waitStatus(t *testing.T, s *sim, cc *gophercloud.ServiceClient, id, want string) *servers.Server {
	t.Helper()
	for i := 0; i < 200; i++ {
		srv, err := servers.Get(context.Background(), cc, id).Extract()
		if err != nil {
			t.Fatalf("get %s: %v", id, err)
		}
		if srv.Status == want {
			return srv
		}
		s.advance(5 * time.Millisecond)
	}
	t.Fatalf("server %s never reached %s", id, want)
	return nil
}

func TestGophercloudServers(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, clientEstate)})
	ctx := context.Background()
	c := newClients(t, s, adminAuth(s))

	// Resolve names the way a provider does: Glance for the image, Neutron
	// for the network and port.
	imgPages, err := images.List(c.image, images.ListOpts{Name: "cirros"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	imgs, err := images.ExtractImages(imgPages)
	if err != nil || len(imgs) != 1 {
		t.Fatalf("images: %v %v", imgs, err)
	}
	netPages, err := networks.List(c.network, networks.ListOpts{Name: "private"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nets, err := networks.ExtractNetworks(netPages)
	if err != nil || len(nets) != 1 {
		t.Fatalf("networks: %v %v", nets, err)
	}
	portPages, err := ports.List(c.network, ports.ListOpts{Name: "manager-port"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mgrPorts, err := ports.ExtractPorts(portPages)
	if err != nil || len(mgrPorts) != 1 || mgrPorts[0].FixedIPs[0].IPAddress != "10.0.0.50" {
		t.Fatalf("ports: %+v %v", mgrPorts, err)
	}
	mgrPort := mgrPorts[0]

	// Create a server on the pre-made port, pinned to a host.
	created, err := servers.Create(ctx, c.compute, servers.CreateOpts{
		Name: "manager", ImageRef: imgs[0].ID, FlavorRef: "3",
		Networks:         []servers.Network{{Port: mgrPort.ID}},
		Metadata:         map[string]string{"role": "manager"},
		UserData:         []byte("#cloud-config\n"),
		AvailabilityZone: "nova:compute-3",
	}, nil).Extract()
	if err != nil {
		t.Fatal(err)
	}
	if created.ID == "" || created.AdminPass == "" {
		t.Fatalf("create answer %+v", created)
	}
	if got := waitStatus(t, s, c.compute, created.ID, "BUILD"); got.Host != "compute-3" {
		t.Fatalf("pinned to %q", got.Host)
	}
	srv := waitStatus(t, s, c.compute, created.ID, "ACTIVE")
	if srv.Host != "compute-3" || srv.Metadata["role"] != "manager" || srv.PowerState != servers.RUNNING {
		t.Fatalf("active server %+v", srv)
	}
	addrs := srv.Addresses["private"].([]any)
	if addrs[0].(map[string]any)["addr"] != "10.0.0.50" {
		t.Fatalf("addresses %v", srv.Addresses)
	}
	p, err := ports.Get(ctx, c.network, mgrPort.ID).Extract()
	if err != nil || p.DeviceID != created.ID || p.DeviceOwner != "compute:nova" || p.Status != "ACTIVE" {
		t.Fatalf("port after boot %+v %v", p, err)
	}

	// List with filters.
	pages, err := servers.List(c.compute, servers.ListOpts{AllTenants: true, Host: "compute-1"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	onHost, _ := servers.ExtractServers(pages)
	if len(onHost) != 2 {
		t.Fatalf("servers on compute-1: %d", len(onHost))
	}
	pages, err = servers.List(c.compute, servers.ListOpts{Name: "^manager$", Status: "ACTIVE"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if named, _ := servers.ExtractServers(pages); len(named) != 1 || named[0].ID != created.ID {
		t.Fatalf("name filter %v", named)
	}

	// Stop and start.
	if err := servers.Stop(ctx, c.compute, created.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, c.compute, created.ID, "SHUTOFF")
	if err := servers.Start(ctx, c.compute, created.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, s, c.compute, created.ID, "ACTIVE")

	// Detach and re-attach the port: it keeps its fixed IP.
	if err := attachinterfaces.Delete(ctx, c.compute, created.ID, mgrPort.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	s.advance(20 * time.Millisecond)
	ifPages, err := attachinterfaces.List(c.compute, created.ID).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if ifs, _ := attachinterfaces.ExtractInterfaces(ifPages); len(ifs) != 0 {
		t.Fatalf("interfaces after detach: %+v", ifs)
	}
	att, err := attachinterfaces.Create(ctx, c.compute, created.ID, attachinterfaces.CreateOpts{PortID: mgrPort.ID}).Extract()
	if err != nil || att.FixedIPs[0].IPAddress != "10.0.0.50" || att.PortState != "ACTIVE" {
		t.Fatalf("attach %+v %v", att, err)
	}

	// Floating IP: associate, see it ACTIVE and on the server, disassociate.
	fipPages, err := floatingips.List(c.network, floatingips.ListOpts{FloatingIP: "172.24.4.100"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	fips, err := floatingips.ExtractFloatingIPs(fipPages)
	if err != nil || len(fips) != 1 {
		t.Fatalf("fips %v %v", fips, err)
	}
	fip, err := floatingips.Update(ctx, c.network, fips[0].ID, floatingips.UpdateOpts{PortID: &mgrPort.ID}).Extract()
	if err != nil || fip.PortID != mgrPort.ID || fip.FixedIP != "10.0.0.50" || fip.Status != "DOWN" {
		t.Fatalf("associate %+v %v", fip, err)
	}
	s.advance(20 * time.Millisecond)
	if fip, err = floatingips.Get(ctx, c.network, fip.ID).Extract(); err != nil || fip.Status != "ACTIVE" {
		t.Fatalf("after the L3 agent %+v %v", fip, err)
	}
	srv, _ = servers.Get(ctx, c.compute, created.ID).Extract()
	if len(srv.Addresses["private"].([]any)) != 2 {
		t.Fatalf("floating address not shown: %v", srv.Addresses)
	}
	rev := fip.RevisionNumber
	stale := rev - 1
	_, err = floatingips.Update(ctx, c.network, fip.ID, floatingips.UpdateOpts{PortID: new(string), RevisionNumber: &stale}).Extract()
	if !gophercloud.ResponseCodeIs(err, http.StatusPreconditionFailed) {
		t.Fatalf("stale revision: %v", err)
	}
	fip, err = floatingips.Update(ctx, c.network, fip.ID, floatingips.UpdateOpts{PortID: new(string), RevisionNumber: &rev}).Extract()
	if err != nil || fip.PortID != "" || fip.FixedIP != "" || fip.Status != "DOWN" {
		t.Fatalf("disassociate %+v %v", fip, err)
	}

	// Port update: clear the device, as the Cloudify plugin's unlink does.
	empty := ""
	p, err = ports.Update(ctx, c.network, mgrPort.ID, ports.UpdateOpts{DeviceID: &empty, DeviceOwner: &empty}).Extract()
	if err != nil || p.DeviceID != "" || p.Status != "DOWN" {
		t.Fatalf("port unlink %+v %v", p, err)
	}

	// Delete: 204, then gone after a moment; the pre-made port survives.
	if err := servers.Delete(ctx, c.compute, created.ID).ExtractErr(); err != nil {
		t.Fatal(err)
	}
	if srv, err := servers.Get(ctx, c.compute, created.ID).Extract(); err != nil || srv.TaskState != "deleting" {
		t.Fatalf("deleting %+v %v", srv, err)
	}
	s.advance(50 * time.Millisecond)
	if _, err := servers.Get(ctx, c.compute, created.ID).Extract(); !gophercloud.ResponseCodeIs(err, http.StatusNotFound) {
		t.Fatalf("after delete: %v", err)
	}
	if _, err := ports.Get(ctx, c.network, mgrPort.ID).Extract(); err != nil {
		t.Fatalf("the port went with the server: %v", err)
	}
}

func TestGophercloudAdmin(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, clientEstate)})
	ctx := context.Background()
	c := newClients(t, s, adminAuth(s))
	c.compute.Microversion = "2.53"

	hp, err := hypervisors.List(c.compute, nil).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	hyps, err := hypervisors.ExtractHypervisors(hp)
	if err != nil || len(hyps) != 3 {
		t.Fatalf("hypervisors %v %v", hyps, err)
	}
	h1 := hyps[0]
	if h1.HypervisorHostname != "compute-1" || h1.VCPUs != 32 || h1.MemoryMB != 131072 || h1.RunningVMs != 2 ||
		h1.VCPUsUsed != 3 || h1.MemoryMBUsed != 512+2048+4096 || h1.State != "up" || h1.Status != "enabled" {
		t.Fatalf("compute-1 %+v", h1)
	}
	one, err := hypervisors.Get(ctx, c.compute, h1.ID).Extract()
	if err != nil || one.HypervisorHostname != "compute-1" {
		t.Fatalf("get %+v %v", one, err)
	}

	sp, err := services.List(c.compute, services.ListOpts{Binary: "nova-compute", Host: "compute-1"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	svcs, err := services.ExtractServices(sp)
	if err != nil || len(svcs) != 1 || svcs[0].State != "up" || svcs[0].ForcedDown {
		t.Fatalf("services %+v %v", svcs, err)
	}
	svc, err := services.Update(ctx, c.compute, svcs[0].ID, services.UpdateOpts{Status: services.ServiceDisabled, DisabledReason: "host failure", ForcedDown: true}).Extract()
	if err != nil || svc.Status != "disabled" || svc.State != "down" || !svc.ForcedDown || svc.DisabledReason != "host failure" {
		t.Fatalf("force down %+v %v", svc, err)
	}

	// Evacuate at 2.53 the way the apis.md notes say: a custom body without
	// onSharedStorage. gophercloud's own EvacuateOpts always sends it and
	// gets Nova's 400 at this microversion.
	pages, _ := servers.List(c.compute, servers.ListOpts{AllTenants: true, Host: "compute-1"}).AllPages(ctx)
	victims, _ := servers.ExtractServers(pages)
	_, err = servers.Evacuate(ctx, c.compute, victims[0].ID, servers.EvacuateOpts{}).ExtractAdminPass()
	if !gophercloud.ResponseCodeIs(err, http.StatusBadRequest) {
		t.Fatalf("EvacuateOpts at 2.53: %v", err)
	}
	for _, v := range victims {
		pass, err := servers.Evacuate(ctx, c.compute, v.ID, evacuateBody{}).ExtractAdminPass()
		if err != nil || pass != "" {
			t.Fatalf("evacuate %s: %q %v", v.Name, pass, err)
		}
	}
	for _, v := range victims {
		got := waitStatus(t, s, c.compute, v.ID, "ACTIVE")
		if got.Host == "compute-1" || got.Host == "" {
			t.Fatalf("%s evacuated to %q", v.Name, got.Host)
		}
	}
	hp, _ = hypervisors.List(c.compute, nil).AllPages(ctx)
	hyps, _ = hypervisors.ExtractHypervisors(hp)
	if hyps[0].RunningVMs != 0 || hyps[0].State != "down" || hyps[0].Status != "disabled" {
		t.Fatalf("compute-1 after evacuation %+v", hyps[0])
	}

	// Placement has the capacity from 2.88 on.
	rpPages, err := resourceproviders.List(c.placement, resourceproviders.ListOpts{Name: "compute-2"}).AllPages(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rps, err := resourceproviders.ExtractResourceProviders(rpPages)
	if err != nil || len(rps) != 1 {
		t.Fatalf("resource providers %v %v", rps, err)
	}
	usages, err := resourceproviders.GetUsages(ctx, c.placement, rps[0].UUID).Extract()
	if err != nil {
		t.Fatal(err)
	}
	inv, err := resourceproviders.GetInventories(ctx, c.placement, rps[0].UUID).Extract()
	if err != nil || inv.Inventories["MEMORY_MB"].Total != 131072 || inv.Inventories["MEMORY_MB"].Reserved != 512 {
		t.Fatalf("inventories %+v %v", inv, err)
	}
	t.Logf("compute-2 usages %v", usages.Usages)
}

// evacuateBody is the custom EvacuateOptsBuilder apis.md recommends from
// 2.14 on.
type evacuateBody struct{ host string }

func (e evacuateBody) ToEvacuateMap() (map[string]any, error) {
	b := map[string]any{}
	if e.host != "" {
		b["host"] = e.host
	}
	return map[string]any{"evacuate": b}, nil
}
