package openstack

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/servers"
	"github.com/zclconf/go-cty/cty"
)

// sampleFor is Nova's API sample of the evacuate body for microversion v.
func sampleFor(v microversion) string {
	switch {
	case v.less(mv2_14):
		return "evacuate_2.1.json"
	case v.less(mv2_29):
		return "evacuate_2.14.json"
	case v.less(mv2_68):
		return "evacuate_2.29.json"
	case v.less(microversion{2, 95}):
		return "evacuate_2.68.json"
	}
	return "evacuate_2.95.json"
}

func TestEvacuateBody(t *testing.T) {
	for _, tc := range []struct {
		v    string
		opts evacuateOpts
		want string
		err  string
	}{
		{v: "2.1", opts: evacuateOpts{Host: "compute-2"}, want: `{"evacuate": {"host": "compute-2", "onSharedStorage": false}}`},
		{v: "2.1", opts: evacuateOpts{OnSharedStorage: true}, want: `{"evacuate": {"onSharedStorage": true}}`},
		{v: "2.13", opts: evacuateOpts{Host: "compute-2", OnSharedStorage: true, AdminPass: "pw"}, want: `{"evacuate": {"host": "compute-2", "onSharedStorage": true, "adminPass": "pw"}}`},
		{v: "2.14", opts: evacuateOpts{Host: "compute-2", OnSharedStorage: true}, want: `{"evacuate": {"host": "compute-2"}}`},
		{v: "2.14", opts: evacuateOpts{}, want: `{"evacuate": {}}`},
		{v: "2.28", opts: evacuateOpts{Host: "compute-2"}, want: `{"evacuate": {"host": "compute-2"}}`},
		{v: "2.29", opts: evacuateOpts{Host: "compute-2"}, want: `{"evacuate": {"host": "compute-2"}}`},
		{v: "2.29", opts: evacuateOpts{Host: "compute-2", Force: true}, want: `{"evacuate": {"host": "compute-2", "force": true}}`},
		{v: "2.67", opts: evacuateOpts{Host: "compute-2", Force: true}, want: `{"evacuate": {"host": "compute-2", "force": true}}`},
		{v: "2.53", opts: evacuateOpts{Force: true}, err: "force needs a host"},
		{v: "2.28", opts: evacuateOpts{Host: "compute-2", Force: true}, err: "only at microversions 2.29 to 2.67"},
		{v: "2.68", opts: evacuateOpts{Host: "compute-2", Force: true}, err: "only at microversions 2.29 to 2.67"},
		{v: "2.68", opts: evacuateOpts{Host: "compute-2", OnSharedStorage: true}, want: `{"evacuate": {"host": "compute-2"}}`},
		{v: "2.94", opts: evacuateOpts{Host: "compute-2"}, want: `{"evacuate": {"host": "compute-2"}}`},
		{v: "2.95", opts: evacuateOpts{Host: "compute-2"}, want: `{"evacuate": {"host": "compute-2"}}`},
		{v: "2.104", opts: evacuateOpts{}, want: `{"evacuate": {}}`},
	} {
		v, err := parseMicroversion(tc.v)
		if err != nil {
			t.Fatal(err)
		}
		body, err := evacuateBody(v, tc.opts)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%s %+v: error %v, want %q", tc.v, tc.opts, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s %+v: %v", tc.v, tc.opts, err)
			continue
		}
		got := mustJSON(t, body)
		assertJSON(t, "evacuate at "+tc.v, got, tc.want)
		// Every key is one Nova's sample for that microversion shows: the
		// schema has additionalProperties false.
		sample := fixture(t, "nova_samples", sampleFor(v))
		allowed := keysOf(t, sample, "evacuate")
		for _, k := range keysOf(t, got, "evacuate") {
			if !contains(allowed, k) {
				t.Errorf("evacuate at %s sends %q; Nova's %s has only %v", tc.v, k, sampleFor(v), allowed)
			}
		}
	}
}

// TestGophercloudEvacuateOptsQuirk pins down why the body is built by
// hand: gophercloud's EvacuateOpts always sends onSharedStorage, which
// Nova's schema refuses from 2.14 on.
func TestGophercloudEvacuateOptsQuirk(t *testing.T) {
	b, err := servers.EvacuateOpts{Host: "compute-2"}.ToEvacuateMap()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := b["evacuate"].(map[string]any)["onSharedStorage"]; !ok {
		t.Error("gophercloud's EvacuateOpts no longer sends onSharedStorage: the custom body may not be needed")
	}
}

// evacuationCloud is a fake cloud whose server derp, on devstack, goes
// through states once the evacuation is posted.
func evacuationCloud(t *testing.T, micro string, after ...string) *fakeCloud {
	fc := newFakeCloud(t)
	fc.micro = micro
	fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
	fc.on(http.MethodPost, derpPath+"/action", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK) // Nova's 200 with no body from 2.14
		fc.sequence(http.MethodGet, derpPath, 200, after...)
	})
	return fc
}

func TestServerEvacuatePerMicroversion(t *testing.T) {
	for _, tc := range []struct {
		offered, sent string
		in            map[string]cty.Value
		want          string
	}{
		{"2.1", "2.1", map[string]cty.Value{"on_shared_storage": cty.True}, `{"evacuate": {"host": "compute-2", "onSharedStorage": true}}`},
		{"2.13", "2.13", nil, `{"evacuate": {"host": "compute-2", "onSharedStorage": false}}`},
		{"2.14", "2.14", map[string]cty.Value{"on_shared_storage": cty.True}, `{"evacuate": {"host": "compute-2"}}`},
		{"2.29", "2.29", nil, `{"evacuate": {"host": "compute-2"}}`},
		{"2.29", "2.29", map[string]cty.Value{"force": cty.True}, `{"evacuate": {"host": "compute-2", "force": true}}`},
		{"2.53", "2.53", nil, `{"evacuate": {"host": "compute-2"}}`},
		{"2.68", "2.68", nil, `{"evacuate": {"host": "compute-2"}}`},
		{"2.87", "2.87", nil, `{"evacuate": {"host": "compute-2"}}`},
		// 2.95 would leave the server stopped: the provider stays at 2.94.
		{"2.96", "2.94", nil, `{"evacuate": {"host": "compute-2"}}`},
	} {
		t.Run(tc.offered, func(t *testing.T) {
			fc := evacuationCloud(t, tc.offered,
				serverAs(t, map[string]any{"status": "REBUILD", "OS-EXT-STS:task_state": "rebuilding"}),
				serverAs(t, map[string]any{"status": "REBUILD", "OS-EXT-STS:task_state": "rebuild_spawning", "OS-EXT-SRV-ATTR:host": "compute-2"}),
				serverAs(t, map[string]any{"OS-EXT-SRV-ATTR:host": "compute-2"}))
			in := map[string]cty.Value{"server": str(derpID), "host": str("compute-2")}
			for k, v := range tc.in {
				in[k] = v
			}
			out := decode[ServerEvacuateOut](t, mustApply(t, fc.provider(nil), "server_evacuate", in).out)
			if out.SourceHost != "devstack" || out.Host != "compute-2" || out.Status != "ACTIVE" {
				t.Errorf("evacuated: %+v", out)
			}
			posts := fc.requests(http.MethodPost, derpPath+"/action")
			if len(posts) != 1 {
				t.Fatalf("%d posts", len(posts))
			}
			assertJSON(t, "evacuate", posts[0].Body, tc.want)
			if h := posts[0].Header.Get("X-OpenStack-Nova-API-Version"); h != tc.sent {
				t.Errorf("sent at microversion %s, want %s", h, tc.sent)
			}
		})
	}
}

func TestServerEvacuateFailures(t *testing.T) {
	t.Run("ERROR", func(t *testing.T) {
		fc := evacuationCloud(t, "2.87",
			serverAs(t, map[string]any{"status": "REBUILD", "OS-EXT-STS:task_state": "rebuilding"}),
			edit(t, "compute", "server_faulty.json", func(m map[string]any) {
				m["server"].(map[string]any)["status"] = "ERROR"
				m["server"].(map[string]any)["OS-EXT-STS:vm_state"] = "error"
			}))
		c := apply(t, fc.provider(nil), "server_evacuate", map[string]cty.Value{"server": str(derpID), "host": str("compute-2")})
		if c.err == nil || !strings.Contains(c.err.Error(), "is in ERROR: Conflict updating instance") || providerErr(t, c.err).Retryable {
			t.Errorf("evacuation into ERROR: %v", c.err)
		}
	})
	t.Run("back on the source", func(t *testing.T) {
		fc := evacuationCloud(t, "2.87",
			serverAs(t, map[string]any{"status": "REBUILD", "OS-EXT-STS:task_state": "rebuilding"}),
			fixture(t, "compute", "server_get.json"))
		c := apply(t, fc.provider(nil), "server_evacuate", map[string]cty.Value{"server": str(derpID)})
		if c.err == nil || !strings.Contains(c.err.Error(), "ended with it still on devstack") {
			t.Errorf("evacuation that moved nothing: %v", c.err)
		}
	})
	t.Run("a busy server is retryable", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
		fc.reply(http.MethodPost, derpPath+"/action", http.StatusConflict,
			`{"conflictingRequest": {"code": 409, "message": "Cannot 'evacuate' instance `+derpID+` while it is in task_state rebuilding"}}`)
		c := apply(t, fc.provider(nil), "server_evacuate", map[string]cty.Value{"server": str(derpID)})
		pe := providerErr(t, c.err)
		want := "openstack.server_evacuate: POST " + derpPath + "/action: 409 Conflict: Cannot 'evacuate' instance " + derpID + " while it is in task_state rebuilding"
		if c.err.Error() != want || !pe.Retryable {
			t.Errorf("busy:\n got %v (retryable %t)\nwant %s", c.err, pe.Retryable, want)
		}
	})
	t.Run("source still up is not retryable", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
		fc.reply(http.MethodPost, derpPath+"/action", http.StatusBadRequest,
			`{"badRequest": {"code": 400, "message": "Compute service of devstack is still in use."}}`)
		c := apply(t, fc.provider(nil), "server_evacuate", map[string]cty.Value{"server": str(derpID)})
		if pe := providerErr(t, c.err); pe.Retryable || !strings.Contains(c.err.Error(), "400 Bad Request: Compute service of devstack is still in use.") {
			t.Errorf("400: %v", c.err)
		}
	})
	t.Run("force at 2.87", func(t *testing.T) {
		fc := newFakeCloud(t)
		fc.reply(http.MethodGet, derpPath, 200, fixture(t, "compute", "server_get.json"))
		c := apply(t, fc.provider(nil), "server_evacuate", map[string]cty.Value{"server": str(derpID), "host": str("compute-2"), "force": cty.True})
		if pe := providerErr(t, c.err); !pe.Attribute.Equals(cty.GetAttrPath("force")) {
			t.Errorf("force at 2.87: %v", c.err)
		}
		if n := len(fc.requests(http.MethodPost, derpPath+"/action")); n != 0 {
			t.Errorf("posted %d times", n)
		}
	})
}
