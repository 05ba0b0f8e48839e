package openstack

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

// The server of server_get.json (gophercloud's SingleServerBody).
const (
	derpID   = "9e5476bd-a4ec-4653-93d6-72c93aa682ba"
	derpPath = computePath + "/servers/" + derpID
	imageID  = "f90f6034-2570-4974-8351-6b49732ef2eb"
)

// serverAs is server_get.json with fields of "server" replaced.
func serverAs(t testing.TB, fields map[string]any) string {
	t.Helper()
	return edit(t, "compute", "server_get.json", func(m map[string]any) {
		for k, v := range fields {
			m["server"].(map[string]any)[k] = v
		}
	})
}

func TestAuthenticationAndDiscovery(t *testing.T) {
	fc := newFakeCloud(t)
	fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
	p := fc.provider(nil)
	mustApply(t, p, "server_get", map[string]cty.Value{"server": str(derpID)})

	toks := fc.requests(http.MethodPost, "/identity/v3/auth/tokens")
	if len(toks) != 1 {
		t.Fatalf("%d token requests, want 1", len(toks))
	}
	assertJSON(t, "token request", toks[0].Body, `{"auth": {
		"identity": {"methods": ["password"], "password": {"user": {"name": "admin", "password": "s3cret", "domain": {"name": "Default"}}}},
		"scope": {"project": {"name": "admin", "domain": {"name": "Default"}}}}}`)
	// The catalog's compute URL ends in the project id, where Nova has no
	// version document: discovery falls back to /v2.1/.
	if n := len(fc.requests(http.MethodGet, computePath+"/")); n != 1 {
		t.Errorf("%d version requests on the project endpoint, want 1", n)
	}
	if n := len(fc.requests(http.MethodGet, "/compute/v2.1/")); n != 1 {
		t.Errorf("%d version requests on /compute/v2.1/, want 1", n)
	}
	got := fc.requests(http.MethodGet, derpPath)[0].Header
	// The cloud offers 2.87 (version.json); server calls ask for that.
	if v := got.Get("X-OpenStack-Nova-API-Version"); v != "2.87" {
		t.Errorf("X-OpenStack-Nova-API-Version %q, want 2.87", v)
	}
	if v := got.Get("OpenStack-API-Version"); v != "compute 2.87" {
		t.Errorf("OpenStack-API-Version %q, want compute 2.87", v)
	}
	// A second action reuses the token and the microversion.
	mustApply(t, p, "server_get", map[string]cty.Value{"server": str(derpID)})
	if n := len(fc.requests(http.MethodPost, "/identity/v3/auth/tokens")); n != 1 {
		t.Errorf("%d token requests after two actions, want 1", n)
	}
}

func TestApplicationCredentialAuth(t *testing.T) {
	fc := newFakeCloud(t)
	fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
	p := newProvider(func(string) string { return "" })
	err := p.Configure(t.Context(), cty.ObjectVal(map[string]cty.Value{
		"auth_url":                      str(fc.srv.URL + "/identity"),
		"application_credential_id":     str("ac-1"),
		"application_credential_secret": str("shh"),
		"compute_microversion":          str("2.60"),
	}))
	if err != nil {
		t.Fatal(err)
	}
	mustApply(t, p, "server_get", map[string]cty.Value{"server": str(derpID)})
	assertJSON(t, "token request", fc.requests(http.MethodPost, "/identity/v3/auth/tokens")[0].Body,
		`{"auth": {"identity": {"methods": ["application_credential"], "application_credential": {"id": "ac-1", "secret": "shh"}}}}`)
	// A pinned microversion skips discovery.
	if n := len(fc.requests(http.MethodGet, "/compute/v2.1/")); n != 0 {
		t.Errorf("%d version requests with compute_microversion set, want 0", n)
	}
	if v := fc.requests(http.MethodGet, derpPath)[0].Header.Get("X-OpenStack-Nova-API-Version"); v != "2.60" {
		t.Errorf("microversion %q, want the pinned 2.60", v)
	}
}

func TestAuthFailureIsNotRetryable(t *testing.T) {
	p := newProvider(func(string) string { return "" })
	bad := httptestServerAnswering(t, http.StatusUnauthorized, `{"error": {"code": 401, "title": "Unauthorized", "message": "The request you have made requires authentication."}}`)
	if err := p.Configure(t.Context(), cty.ObjectVal(map[string]cty.Value{
		"auth_url": str(bad + "/v3"), "username": str("admin"), "password": str("nope"), "project_name": str("admin"),
	})); err != nil {
		t.Fatal(err)
	}
	c := apply(t, p, "server_get", map[string]cty.Value{"server": str(derpID)})
	pe := providerErr(t, c.err)
	if pe.Retryable {
		t.Errorf("a 401 from Keystone is retryable: %v", c.err)
	}
	for _, want := range []string{"openstack.server_get", "POST /v3/auth/tokens", "401 Unauthorized", "requires authentication"} {
		if !strings.Contains(c.err.Error(), want) {
			t.Errorf("error %q does not mention %q", c.err, want)
		}
	}
}

func TestServerGet(t *testing.T) {
	fc := newFakeCloud(t)
	fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
	fc.reply(http.MethodGet, computePath+"/servers/detail", 200, fixture(t, "compute", "servers_list.json"))
	p := fc.provider(nil)

	byID := decode[ServerOut](t, mustApply(t, p, "server_get", map[string]cty.Value{"server": str(derpID)}).out)
	want := ServerOut{ID: derpID, Name: "derp", Status: "ACTIVE", Host: "devstack", AccessIPv4: "10.0.0.31",
		VMState: "active", PowerState: 1, Flavor: "1", Image: imageID, AvailabilityZone: "nova",
		ProjectID: "fcad67a6189847c4aecfa3c81a05783b", FixedIPs: []string{"10.0.0.31"}, FloatingIPs: []string{},
		Addresses: []AddressOut{{Network: "private", Address: "10.0.0.31", Type: "fixed", Version: 4, MAC: "fa:16:3e:9e:89:be"}},
		Metadata:  map[string]string{}, Created: "2014-09-25T13:04:41Z", Updated: "2014-09-25T13:04:49Z"}
	if !jsonEqual(byID, want) {
		t.Errorf("server_get by id:\n got %+v\nwant %+v", byID, want)
	}

	byName := decode[ServerOut](t, mustApply(t, p, "server_get", map[string]cty.Value{"server": str("merp"), "all_tenants": cty.True}).out)
	if byName.ID != "9e5476bd-a4ec-4653-93d6-72c93aa682bb" {
		t.Errorf("server_get merp: id %s", byName.ID)
	}
	lists := fc.requests(http.MethodGet, computePath+"/servers/detail")
	if len(lists) != 1 || lists[0].Query != "all_tenants=true&name=merp" {
		t.Errorf("name lookup query %q, want all_tenants=true&name=merp", lists[0].Query)
	}

	c := apply(t, p, "server_get", map[string]cty.Value{"server": str("nosuch")})
	pe := providerErr(t, c.err)
	if !strings.Contains(c.err.Error(), `server "nosuch" not found`) || !pe.Attribute.Equals(cty.GetAttrPath("server")) {
		t.Errorf("unknown server: %v (attribute %#v)", c.err, pe.Attribute)
	}
}

func TestServerGetEmbeddedFlavor(t *testing.T) {
	fc := newFakeCloud(t)
	id := "9168b536-cd40-4630-b43f-b259807c6e87"
	fc.reply(http.MethodGet, computePath+"/servers/"+id, 200, fixture(t, "nova_samples", "server_get_v247.json"))
	out := decode[ServerOut](t, mustApply(t, fc.provider(nil), "server_get", map[string]cty.Value{"server": str(id)}).out)
	if out.Flavor != "m1.tiny.specs" || out.VCPUs != 1 || out.RAM != 512 || out.AccessIPv4 != "1.2.3.4" {
		t.Errorf("server at 2.47: flavor %q vcpus %d ram %d access_ipv4 %q", out.Flavor, out.VCPUs, out.RAM, out.AccessIPv4)
	}
}

func TestServerList(t *testing.T) {
	fc := newFakeCloud(t)
	fc.reply(http.MethodGet, computePath+"/servers/detail", 200, fixture(t, "compute", "servers_list.json"))
	c := mustApply(t, fc.provider(nil), "server_list", map[string]cty.Value{
		"host": str("devstack"), "status": str("ACTIVE"), "all_tenants": cty.True,
	})
	out := decode[ServerListOut](t, c.out)
	if out.Count != 3 || strings.Join(out.Names, ",") != "herp,derp,merp" || out.IDs[0] != "ef079b0c-e610-4dfb-b1aa-b49f07ac48e5" {
		t.Errorf("server_list: %d %v %v", out.Count, out.Names, out.IDs)
	}
	if q := fc.requests(http.MethodGet, computePath+"/servers/detail")[0].Query; q != "all_tenants=true&host=devstack&status=ACTIVE" {
		t.Errorf("query %q", q)
	}
}

func TestServerWait(t *testing.T) {
	t.Run("until ACTIVE", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.sequence(http.MethodGet, derpPath, 200,
			serverAs(t, map[string]any{"status": "BUILD", "OS-EXT-STS:task_state": "spawning"}),
			serverAs(t, map[string]any{"status": "ACTIVE", "OS-EXT-STS:task_state": "networking"}),
			fixture(t, "compute", "server_get.json"))
		out := decode[ServerOut](t, mustApply(t, fc.provider(nil), "server_wait", map[string]cty.Value{"server": str(derpID)}).out)
		if out.Status != "ACTIVE" || out.TaskState != "" {
			t.Errorf("waited to %s/%s", out.Status, out.TaskState)
		}
		if n := len(fc.requests(http.MethodGet, derpPath)); n != 3 { // lookup, then polls until settled
			t.Errorf("%d reads, want 3", n)
		}
	})
	t.Run("ERROR fails at once", func(t *testing.T) {
		fc := newFakeCloud(t)
		faulty := edit(t, "compute", "server_faulty.json", func(m map[string]any) {
			m["server"].(map[string]any)["status"] = "ERROR"
			m["server"].(map[string]any)["OS-EXT-STS:vm_state"] = "error"
		})
		fc.reply(http.MethodGet, derpPath, 200, faulty)
		c := apply(t, fc.provider(nil), "server_wait", map[string]cty.Value{"server": str(derpID), "timeout": str("5s")})
		if c.err == nil || !strings.Contains(c.err.Error(), "is in ERROR: Conflict updating instance") {
			t.Fatalf("waiting for ACTIVE on an ERROR server: %v", c.err)
		}
		if providerErr(t, c.err).Retryable {
			t.Error("ERROR is retryable")
		}
	})
	t.Run("timeout", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.reply(http.MethodGet, derpPath, 200, serverAs(t, map[string]any{"status": "BUILD"}))
		c := apply(t, fc.provider(nil), "server_wait", map[string]cty.Value{"server": str(derpID), "timeout": str("30ms")})
		if c.err == nil || !strings.Contains(c.err.Error(), "timed out after 30ms waiting for server "+derpID+" to be ACTIVE (last seen: BUILD on devstack)") {
			t.Fatalf("timeout: %v", c.err)
		}
	})
	t.Run("a 503 while waiting is waited out", func(t *testing.T) {
		fc := newFakeCloud(t)
		var n int
		fc.on(http.MethodGet, derpPath, func(w http.ResponseWriter, _ *http.Request) {
			n++
			if n == 2 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte(fixture(t, "compute", "server_get.json")))
		})
		fc.reply(http.MethodGet, computePath+"/servers/detail", 200, fixture(t, "compute", "servers_list.json"))
		mustApply(t, fc.provider(nil), "server_wait", map[string]cty.Value{"server": str(derpID)})
	})
	t.Run("DELETED", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.sequence(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"), serverAs(t, map[string]any{"OS-EXT-STS:task_state": "deleting"}))
		go func() {
			time.Sleep(20 * time.Millisecond)
			fc.reply(http.MethodGet, derpPath, 404, fixture(t, "nova_samples", "error_404.json"))
		}()
		out := decode[ServerOut](t, mustApply(t, fc.provider(nil), "server_wait", map[string]cty.Value{"server": str(derpID), "status": str("DELETED")}).out)
		if out.Status != "DELETED" {
			t.Errorf("status %s", out.Status)
		}
	})
}

func TestServerStopStart(t *testing.T) {
	fc := newFakeCloud(t)
	action := derpPath + "/action"
	fc.reply(http.MethodPost, action, http.StatusAccepted, "")
	fc.sequence(http.MethodGet, derpPath, 200,
		fixture(t, "compute", "server_get.json"),
		serverAs(t, map[string]any{"OS-EXT-STS:task_state": "powering-off"}),
		serverAs(t, map[string]any{"status": "SHUTOFF", "OS-EXT-STS:vm_state": "stopped", "OS-EXT-STS:power_state": 4}))
	p := fc.provider(nil)
	out := decode[ServerOut](t, mustApply(t, p, "server_stop", map[string]cty.Value{"server": str(derpID)}).out)
	if out.Status != "SHUTOFF" {
		t.Errorf("after stop: %s", out.Status)
	}
	posts := fc.requests(http.MethodPost, action)
	if len(posts) != 1 {
		t.Fatalf("%d actions posted", len(posts))
	}
	assertJSON(t, "os-stop", posts[0].Body, strings.Replace(fixture(t, "nova_samples", "start_req.json"), "os-start", "os-stop", 1))

	// Stopping a stopped server changes nothing (idempotent).
	c := mustApply(t, p, "server_stop", map[string]cty.Value{"server": str(derpID)})
	if n := len(fc.requests(http.MethodPost, action)); n != 1 || !contains(c.logs(), "already SHUTOFF") {
		t.Errorf("second stop posted (%d posts; logs %v)", n, c.logs())
	}

	// Start: the body is Nova's sample.
	fc.sequence(http.MethodGet, derpPath, 200,
		serverAs(t, map[string]any{"status": "SHUTOFF", "OS-EXT-STS:vm_state": "stopped"}),
		fixture(t, "compute", "server_get.json"))
	mustApply(t, p, "server_start", map[string]cty.Value{"server": str(derpID)})
	posts = fc.requests(http.MethodPost, action)
	assertJSON(t, "os-start", posts[len(posts)-1].Body, fixture(t, "nova_samples", "start_req.json"))
}

func TestServerReboot(t *testing.T) {
	fc := newFakeCloud(t)
	action := derpPath + "/action"
	fc.reply(http.MethodPost, action, http.StatusAccepted, "")
	fc.sequence(http.MethodGet, derpPath, 200,
		fixture(t, "compute", "server_get.json"),
		serverAs(t, map[string]any{"status": "REBOOT", "OS-EXT-STS:task_state": "rebooting"}),
		fixture(t, "compute", "server_get.json"))
	mustApply(t, fc.provider(nil), "server_reboot", map[string]cty.Value{"server": str(derpID)})
	assertJSON(t, "reboot", fc.requests(http.MethodPost, action)[0].Body, fixture(t, "compute", "reboot_req.json"))

	c := apply(t, fc.provider(nil), "server_reboot", map[string]cty.Value{"server": str(derpID), "type": str("GENTLE")})
	if pe := providerErr(t, c.err); !pe.Attribute.Equals(cty.GetAttrPath("type")) {
		t.Errorf("bad type: %v", c.err)
	}
}

func TestServerDelete(t *testing.T) {
	fc := newFakeCloud(t)
	fc.reply(http.MethodDelete, derpPath, http.StatusNoContent, "")
	fc.sequence(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"), serverAs(t, map[string]any{"OS-EXT-STS:task_state": "deleting"}))
	fc.on(http.MethodDelete, derpPath, func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusNoContent)
		fc.reply(http.MethodGet, derpPath, 404, fixture(t, "nova_samples", "error_404.json"))
	})
	p := fc.provider(nil)
	out := decode[ServerDeleteOut](t, mustApply(t, p, "server_delete", map[string]cty.Value{"server": str(derpID)}).out)
	if out.Status != "DELETED" || !out.Existed || out.Name != "derp" {
		t.Errorf("server_delete: %+v", out)
	}
	// Deleting it again succeeds: it is gone.
	fc.reply(http.MethodGet, computePath+"/servers/detail", 200, `{"servers": []}`)
	out = decode[ServerDeleteOut](t, mustApply(t, p, "server_delete", map[string]cty.Value{"server": str(derpID)}).out)
	if out.Existed || out.Status != "DELETED" {
		t.Errorf("second delete: %+v", out)
	}
	if n := len(fc.requests(http.MethodDelete, derpPath)); n != 1 {
		t.Errorf("%d DELETEs, want 1", n)
	}
}

func TestServerCreate(t *testing.T) {
	setup := func(t *testing.T, micro string) *fakeCloud {
		fc := newFakeCloud(t)
		fc.micro = micro
		fc.reply(http.MethodGet, computePath+"/flavors/detail", 200, strings.ReplaceAll(fixture(t, "compute", "flavors_list.json"), `"%s/flavors/detail?marker=2"`, `""`))
		fc.reply(http.MethodPost, computePath+"/servers", http.StatusAccepted, fixture(t, "compute", "server_get.json"))
		fc.sequence(http.MethodGet, derpPath, 200, serverAs(t, map[string]any{"status": "BUILD", "OS-EXT-STS:task_state": "spawning"}), fixture(t, "compute", "server_get.json"))
		return fc
	}
	t.Run("gophercloud's body before 2.37", func(t *testing.T) {
		fc := setup(t, "2.36")
		out := decode[ServerOut](t, mustApply(t, fc.provider(nil), "server_create", map[string]cty.Value{
			"name": str("derp"), "image": str(imageID), "flavor": str("m1.tiny"),
		}).out)
		if out.ID != derpID || out.Status != "ACTIVE" || out.Host != "devstack" {
			t.Errorf("server_create: %+v", out)
		}
		assertJSON(t, "create", fc.requests(http.MethodPost, computePath+"/servers")[0].Body, fixture(t, "compute", "server_create_req.json"))
		if q := fc.requests(http.MethodGet, computePath+"/flavors/detail")[0].Query; q != "is_public=None" {
			t.Errorf("flavor lookup %q, want every flavor (is_public=None)", q)
		}
	})
	t.Run("metadata", func(t *testing.T) {
		fc := setup(t, "2.36")
		mustApply(t, fc.provider(nil), "server_create", map[string]cty.Value{
			"name": str("derp"), "image": str(imageID), "flavor": str("1"),
			"metadata": cty.MapVal(map[string]cty.Value{"abc": str("def")}),
		})
		assertJSON(t, "create", fc.requests(http.MethodPost, computePath+"/servers")[0].Body, fixture(t, "compute", "server_create_metadata_req.json"))
	})
	t.Run("networks auto from 2.37", func(t *testing.T) {
		fc := setup(t, "2.87")
		mustApply(t, fc.provider(nil), "server_create", map[string]cty.Value{"name": str("derp"), "image": str(imageID), "flavor": str("m1.tiny")})
		nonet := fixtureJSON(t, "compute", "server_create_nonetwork_req.json") // gophercloud's "networks": "none" body
		nonet["server"].(map[string]any)["networks"] = "auto"
		assertJSON(t, "create", fc.requests(http.MethodPost, computePath+"/servers")[0].Body, mustJSON(t, nonet))
	})
	t.Run("names, pre-made port, key, user data", func(t *testing.T) {
		fc := setup(t, "2.87")
		fc.reply(http.MethodGet, imagePath+"/images", 200, fixture(t, "image", "images_list.json"))
		fc.reply(http.MethodGet, networkPath+"/networks", 200, fixture(t, "network", "networks_list.json"))
		fc.reply(http.MethodGet, networkPath+"/ports/46d4bfb9-b26e-41f3-bd2e-e6dcc1ccedb2", 200, fixture(t, "network", "port_get.json"))
		mustApply(t, fc.provider(nil), "server_create", map[string]cty.Value{
			"name": str("manager"), "image": str("cirros-0.3.4-x86_64-uec"), "flavor": str("m1.small"),
			"networks":  cty.ListVal([]cty.Value{str("private")}),
			"port":      str("46d4bfb9-b26e-41f3-bd2e-e6dcc1ccedb2"),
			"key_name":  str("ops"),
			"user_data": str("#cloud-config\n"),
		})
		assertJSON(t, "create", fc.requests(http.MethodPost, computePath+"/servers")[0].Body, `{"server": {
			"name": "manager", "imageRef": "07aa21a9-fa1a-430e-9a33-185be5982431", "flavorRef": "2",
			"networks": [{"uuid": "db193ab3-96e3-4cb3-8fc5-05f4296d0324"}, {"port": "46d4bfb9-b26e-41f3-bd2e-e6dcc1ccedb2"}],
			"key_name": "ops", "user_data": "I2Nsb3VkLWNvbmZpZwo="}}`)
		if q := fc.requests(http.MethodGet, imagePath+"/images")[0].Query; q != "name=cirros-0.3.4-x86_64-uec" {
			t.Errorf("image lookup %q", q)
		}
	})
	t.Run("ERROR after creation is not retryable", func(t *testing.T) {
		fc := setup(t, "2.87")
		fc.reply(http.MethodGet, derpPath, 200, edit(t, "compute", "server_faulty.json", func(m map[string]any) {
			m["server"].(map[string]any)["status"] = "ERROR"
		}))
		c := apply(t, fc.provider(nil), "server_create", map[string]cty.Value{"name": str("derp"), "image": str(imageID), "flavor": str("1")})
		if c.err == nil || providerErr(t, c.err).Retryable || !strings.Contains(c.err.Error(), "was created but did not become ACTIVE") {
			t.Errorf("create into ERROR: %v", c.err)
		}
	})
	t.Run("a 503 on create is retryable", func(t *testing.T) {
		fc := setup(t, "2.87")
		fc.reply(http.MethodPost, computePath+"/servers", http.StatusServiceUnavailable, "")
		c := apply(t, fc.provider(nil), "server_create", map[string]cty.Value{"name": str("derp"), "image": str(imageID), "flavor": str("1")})
		if c.err == nil || !providerErr(t, c.err).Retryable {
			t.Errorf("503: %v", c.err)
		}
	})
}

func TestServerRebuild(t *testing.T) {
	fc := newFakeCloud(t)
	action := derpPath + "/action"
	fc.reply(http.MethodPost, action, http.StatusAccepted, fixture(t, "compute", "server_get.json"))
	fc.sequence(http.MethodGet, derpPath, 200,
		fixture(t, "compute", "server_get.json"),
		serverAs(t, map[string]any{"status": "REBUILD", "OS-EXT-STS:task_state": "rebuilding"}),
		serverAs(t, map[string]any{"name": "new-name"}))
	out := decode[ServerOut](t, mustApply(t, fc.provider(nil), "server_rebuild", map[string]cty.Value{"server": str(derpID), "name": str("new-name")}).out)
	if out.Name != "new-name" {
		t.Errorf("rebuilt: %+v", out)
	}
	sent := fc.requests(http.MethodPost, action)[0].Body
	assertJSON(t, "rebuild", sent, `{"rebuild": {"imageRef": "`+imageID+`", "name": "new-name"}}`)
	// Every key sent is one gophercloud's rebuild fixture sends.
	allowed := strings.Join(keysOf(t, fixture(t, "compute", "rebuild_req.json"), "rebuild"), ",")
	for _, k := range keysOf(t, sent, "rebuild") {
		if !strings.Contains(allowed, k) {
			t.Errorf("rebuild sends %q, not in gophercloud's fixture (%s)", k, allowed)
		}
	}
}

func TestServerChecks(t *testing.T) {
	fc := newFakeCloud(t)
	fc.reply(http.MethodGet, derpPath, 200, serverAs(t, map[string]any{"status": "SHUTOFF"}))
	p := fc.provider(nil)
	check := func(action string, in map[string]cty.Value, started time.Time) *provider.CheckResponse {
		t.Helper()
		resp, err := p.Check(t.Context(), &provider.CheckRequest{Request: provider.Request{Action: action, Inputs: cty.ObjectVal(in)}, Started: started})
		if err != nil {
			t.Fatalf("Check %s: %v", action, err)
		}
		return resp
	}
	in := map[string]cty.Value{"server": str(derpID)}
	if r := check("server_stop", in, time.Now()); r.Result != sdk.Applied || r.Outputs.GetAttr("status").AsString() != "SHUTOFF" {
		t.Errorf("server_stop on a SHUTOFF server: %v", r.Result)
	}
	if r := check("server_start", in, time.Now()); r.Result != sdk.NotApplied {
		t.Errorf("server_start on a SHUTOFF server: %v", r.Result)
	}

	// Instance actions: gophercloud's fixture records a stop at 2018-04-25T01:26:29.
	fc.reply(http.MethodGet, derpPath+"/os-instance-actions", 200, fixture(t, "compute", "instance_actions.json"))
	fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
	if r := check("server_reboot", in, time.Date(2018, 4, 25, 1, 0, 0, 0, time.UTC)); r.Result != sdk.NotApplied {
		t.Errorf("server_reboot with no reboot recorded: %v", r.Result)
	}
	fc.reply(http.MethodGet, derpPath+"/os-instance-actions", 200, strings.Replace(fixture(t, "compute", "instance_actions.json"), `"action": "stop"`, `"action": "reboot"`, 1))
	if r := check("server_reboot", in, time.Date(2018, 4, 25, 1, 26, 0, 0, time.UTC)); r.Result != sdk.Applied {
		t.Errorf("server_reboot recorded after the start, server ACTIVE: %v", r.Result)
	}
	if r := check("server_reboot", in, time.Date(2018, 4, 26, 0, 0, 0, 0, time.UTC)); r.Result != sdk.NotApplied {
		t.Errorf("server_reboot recorded a day before the start: %v", r.Result)
	}

	// server_create: derp was created 2014-09-25T13:04:41Z.
	fc.reply(http.MethodGet, computePath+"/servers/detail", 200, fixture(t, "compute", "servers_list.json"))
	create := map[string]cty.Value{"name": str("derp"), "image": str(imageID), "flavor": str("1")}
	if r := check("server_create", create, time.Date(2014, 9, 25, 13, 4, 0, 0, time.UTC)); r.Result != sdk.Applied || r.Outputs.GetAttr("id").AsString() != derpID {
		t.Errorf("server_create after the start: %v", r.Result)
	}
	if r := check("server_create", create, time.Date(2015, 1, 1, 0, 0, 0, 0, time.UTC)); r.Result != sdk.NotApplied {
		t.Errorf("server_create only older: %v", r.Result)
	}
}

// httptestServerAnswering serves status and body to every request.
func httptestServerAnswering(t *testing.T, status int, body string) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// jsonEqual compares two values through their JSON forms.
func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
