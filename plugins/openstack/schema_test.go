package openstack

import (
	"context"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/providertest"
)

// TestSchema pins the contract runbooks rely on (DESIGN.md "Contracts"):
// the provider block's attributes, the action names, their flags, and
// the names of the inputs and outputs named there.
func TestSchema(t *testing.T) {
	s, err := New().Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != Version {
		t.Errorf("version %s", s.Version)
	}
	for _, attr := range []string{"cloud", "auth_url", "username", "password", "project_name", "user_domain_name", "project_domain_name",
		"application_credential_id", "application_credential_secret", "region", "ca_file", "insecure"} {
		if s.Config.Attributes[attr] == nil {
			t.Errorf("provider block has no %s", attr)
		}
	}
	for _, attr := range []string{"password", "application_credential_secret"} {
		if !s.Config.Attributes[attr].Sensitive {
			t.Errorf("%s is not sensitive", attr)
		}
	}
	// name -> mutating, idempotent, Check implemented (see the action table in doc.go)
	flags := map[string][2]bool{
		"server_get": {false, true}, "server_list": {false, true}, "server_wait": {false, true},
		"server_stop": {true, true}, "server_start": {true, true}, "server_reboot": {true, false},
		"server_delete": {true, true}, "server_create": {true, false}, "server_rebuild": {true, false},
		"server_evacuate":          {true, false},
		"floating_ip_disassociate": {true, true}, "floating_ip_associate": {true, true},
		"port_detach": {true, true}, "port_attach": {true, true},
		"compute_service_list": {false, true}, "compute_service_disable": {true, true},
		"compute_service_force_down": {true, true}, "compute_service_enable": {true, true},
		"hypervisor_list": {false, true},
		"host_evacuate":   {true, false},
	}
	var names []string
	for name := range s.Actions {
		names = append(names, name)
	}
	sort.Strings(names)
	if len(names) != len(flags) {
		t.Errorf("actions %v", names)
	}
	for name, f := range flags {
		a := s.Actions[name]
		if a == nil {
			t.Errorf("no action %s", name)
			continue
		}
		if a.Mutating != f[0] || a.Idempotent != f[1] {
			t.Errorf("%s: mutating %t idempotent %t, want %t %t", name, a.Mutating, a.Idempotent, f[0], f[1])
		}
		if a.Description == "" {
			t.Errorf("%s has no description", name)
		}
	}
	io := map[string][2][]string{
		"server_get":               {{"server"}, {"id", "name", "status", "host", "access_ipv4"}},
		"server_create":            {{"name", "image", "flavor", "networks", "ports", "key_name", "user_data", "metadata", "availability_zone"}, {"id", "status", "host", "access_ipv4"}},
		"server_delete":            {{"server"}, nil},
		"server_list":              {{"host", "status", "name", "all_tenants"}, {"servers", "ids"}},
		"server_wait":              {{"server", "status"}, {"status"}},
		"server_evacuate":          {{"server", "host"}, {"status", "host"}},
		"floating_ip_disassociate": {{"floating_ip"}, nil},
		"floating_ip_associate":    {{"floating_ip", "port"}, nil},
		"port_detach":              {{"server", "port"}, {"fixed_ips"}},
		"port_attach":              {{"server", "port"}, {"fixed_ips"}},
		"hypervisor_list":          {nil, {"hypervisors"}},
		"host_evacuate":            {{"failed_host", "recovery_method", "hosts", "parallelism"}, {"status", "succeeded", "failed", "vm_moves"}},
	}
	for name, want := range io {
		a := s.Actions[name]
		for _, in := range want[0] {
			if a.Inputs.Attributes[in] == nil {
				t.Errorf("%s has no input %s", name, in)
			}
		}
		for _, out := range want[1] {
			if _, ok := a.Outputs[out]; !ok {
				t.Errorf("%s has no output %s", name, out)
			}
		}
	}
	he := s.Actions["host_evacuate"]
	hosts := he.Inputs.Attributes["hosts"].Type
	if !hosts.IsListType() || !hosts.ElementType().IsObjectType() {
		t.Fatalf("hosts is %s", hosts.FriendlyName())
	}
	for _, attr := range []string{"name", "reserved", "priority"} {
		if !hosts.ElementType().HasAttribute(attr) {
			t.Errorf("hosts objects lack %s", attr)
		}
	}
	moves := he.Outputs["vm_moves"]
	for _, attr := range []string{"server", "name", "source_host", "destination_host", "status", "started", "ended", "message"} {
		if !moves.IsListType() || !moves.ElementType().HasAttribute(attr) || !moves.ElementType().AttributeType(attr).Equals(cty.String) {
			t.Errorf("vm_moves objects lack the string %s", attr)
		}
	}
	if !he.Inputs.Attributes["failed_host"].Required {
		t.Error("failed_host is not required")
	}
}

// TestPluginProcess runs cmd/runbook-provider-openstack as runbook does:
// its own process, through go-plugin's handshake, gRPC and mutual TLS,
// against a fake cloud.
func TestPluginProcess(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin")
	}
	bin, err := providertest.Build("./cmd/runbook-provider-openstack", t.TempDir(), "runbook-provider-openstack")
	if err != nil {
		t.Fatal(err)
	}
	p := providertest.Launch(t, bin)
	got, err := p.Schema(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want, _ := New().Schema(t.Context())
	if got.Version != Version || len(got.Actions) != len(want.Actions) {
		t.Fatalf("schema over the wire: %s, %d actions", got.Version, len(got.Actions))
	}
	fc := newFakeCloud(t)
	fc.reply("GET", derpPath, 200, fixture(t, "compute", "server_get.json"))
	fc.reply("GET", computePath+"/servers/detail", 200, fixture(t, "compute", "servers_list.json"))
	if err := p.Configure(t.Context(), cty.ObjectVal(map[string]cty.Value{
		"auth_url": str(fc.srv.URL + "/identity/v3"), "username": str("admin"), "password": str("s3cret"), "project_name": str("admin"),
	})); err != nil {
		t.Fatal(err)
	}
	out := decode[ServerOut](t, mustApply(t, p, "server_get", map[string]cty.Value{"server": str(derpID)}).out)
	if out.Name != "derp" || out.Host != "devstack" {
		t.Errorf("server_get through the plugin: %+v", out)
	}
	c := apply(t, p, "server_get", map[string]cty.Value{"server": str("nosuch")})
	if c.err == nil || !strings.Contains(c.err.Error(), `server "nosuch" not found`) || strings.Contains(c.err.Error(), "s3cret") {
		t.Errorf("error through the plugin: %v", c.err)
	}
}

// TestImports keeps the dependencies one way: the provider and its plugin
// command use the SDK and gophercloud, never the engine, the CLI, the
// plugin host, the core provider or the simulators (its tests may).
func TestImports(t *testing.T) {
	const mod = "github.com/runbook-dev/runbook/"
	forbidden := []string{mod + "runbook", mod + "cmd/", mod + "plugins/host", mod + "plugins/core", mod + "internal/", mod + "plugins/manager"}
	for _, pkg := range []string{".", "./cmd/runbook-provider-openstack"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", pkg).CombinedOutput()
		if err != nil {
			t.Fatalf("go list %s: %v\n%s", pkg, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, f := range forbidden {
				if dep == f || strings.HasPrefix(dep, f+"/") || (strings.HasSuffix(f, "/") && strings.HasPrefix(dep, f)) {
					t.Errorf("%s depends on %s", pkg, dep)
				}
			}
		}
	}
}
