package docker_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/moby/moby/client/pkg/versions"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/internal/dockertest"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// testImage builds the test image for a test and returns its reference.
func testImage(t *testing.T, h *harness, name string) string {
	t.Helper()
	ref := dockertest.Name(name) + ":1"
	dockertest.BuildImage(t, h.cli, ref)
	return ref
}

// The seed's last step: restart the container, then wait until its
// healthcheck passes. Check tells a restart that happened after the
// attempt began from one that did not.
func TestRestartAndWaitHealthy(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	name := dockertest.Name("restart")
	id := dockertest.RunContainer(t, h.cli, testImage(t, h, "restart"), name)

	res := h.apply("docker.container_wait_healthy", obj{"container": name, "timeout": "30s", "interval": "100ms"})
	if res.str("health") != "healthy" || res.str("id") != id || res.str("name") != name || res.str("health_output") != "ok" {
		t.Fatalf("wait_healthy outputs %#v", res.out)
	}
	before := res.str("started_at")

	begun := time.Now()
	in := obj{"container": name, "timeout": "20s"}
	h.wantCheck("docker.container_restart", in, begun, provider.NotApplied)
	res = h.apply("docker.container_restart", in)
	if res.str("state") != "running" || !res.out.GetAttr("running").True() || res.str("started_at") == before {
		t.Errorf("restart outputs %#v (started before: %s)", res.out, before)
	}
	if h := res.str("health"); h != "starting" && h != "healthy" {
		t.Errorf("health right after a restart: %q", h)
	}
	// The daemon's clock and this one are the same machine's.
	resp := h.wantCheck("docker.container_restart", in, begun.Add(-time.Second), provider.Applied)
	if str(resp.Outputs, "id") != id {
		t.Errorf("Check restart outputs %#v", resp.Outputs)
	}
	h.wantCheck("docker.container_restart", in, time.Now().Add(time.Minute), provider.NotApplied)

	res = h.apply("docker.container_wait_healthy", obj{"container": id, "interval": "100ms"})
	if res.str("health") != "healthy" || res.str("started_at") == before {
		t.Errorf("wait_healthy after the restart: %#v", res.out)
	}
	// It waited (unless the first probe beat it), saying on what.
	if logs := res.logs(); logs != "" && !strings.Contains(logs, "is running, starting") {
		t.Errorf("the wait did not log the state it waited on:\n%s", logs)
	}
}

// Without a healthcheck, running is ready.
func TestWaitWithoutHealthcheck(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	name := dockertest.Name("nohealth")
	dockertest.RunContainer(t, h.cli, testImage(t, h, "nohealth"), name, dockertest.WithoutHealthcheck)
	res := h.apply("docker.container_wait_healthy", obj{"container": name})
	if res.str("health") != "" || res.str("state") != "running" {
		t.Errorf("wait_healthy outputs %#v", res.out)
	}
}

// An exited container fails the wait at once, with its exit code, and not
// retryably: it will not become healthy by itself.
func TestWaitFailsOnExit(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	name := dockertest.Name("exits")
	id := dockertest.RunContainer(t, h.cli, testImage(t, h, "exits"), name, dockertest.ExitWith(3))
	waitExited(t, h, id)
	pe := h.fail("docker.container_wait_healthy", obj{"container": name, "timeout": "10m"})
	wantError(t, pe, false, `docker.container_wait_healthy: container "`+name+`" exited with code 3`)
}

// A container that stays unhealthy fails the wait at its timeout, naming
// the state and the probe's output; a retry may give it more time.
func TestWaitTimeoutNamesState(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	name := dockertest.Name("unhealthy")
	dockertest.RunContainer(t, h.cli, testImage(t, h, "unhealthy"), name, dockertest.Unhealthy)
	pe := h.fail("docker.container_wait_healthy", obj{"container": name, "timeout": "1500ms", "interval": "100ms"})
	wantError(t, pe, true, `container "`+name+`" is not ready after 1.5s: it is running, `)
	if !strings.Contains(pe.Error(), "starting") && !strings.Contains(pe.Error(), "unhealthy on purpose") {
		t.Errorf("the timeout does not say what the container was doing: %v", pe)
	}
}

// Stop then start; stopping a stopped container and starting a running
// one succeed (the daemon answers 304). Check compares the state.
func TestStopStart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	name := dockertest.Name("stopstart")
	dockertest.RunContainer(t, h.cli, testImage(t, h, "stopstart"), name)
	stop := obj{"container": name, "grace_period": "5s"}
	start := obj{"container": name, "timeout": "30s"}

	h.wantCheck("docker.container_stop", stop, time.Now(), provider.NotApplied)
	h.wantCheck("docker.container_start", start, time.Now(), provider.Applied)
	res := h.apply("docker.container_stop", stop)
	if res.str("state") != "exited" || res.out.GetAttr("running").True() || res.str("finished_at") == "" {
		t.Errorf("stop outputs %#v", res.out)
	}
	res = h.apply("docker.container_stop", stop)
	if res.str("state") != "exited" {
		t.Errorf("second stop outputs %#v", res.out)
	}
	h.wantCheck("docker.container_stop", stop, time.Now(), provider.Applied)
	h.wantCheck("docker.container_start", start, time.Now(), provider.NotApplied)

	res = h.apply("docker.container_start", start)
	if res.str("state") != "running" || !res.out.GetAttr("running").True() {
		t.Errorf("start outputs %#v", res.out)
	}
	h.apply("docker.container_start", start)
	h.wantCheck("docker.container_start", start, time.Now(), provider.Applied)

	res = h.apply("docker.container_inspect", obj{"container": name})
	if res.str("state") != "running" || res.out.GetAttr("labels").Index(val(dockertest.Label)).AsString() != dockertest.ID() ||
		res.str("image") != dockertest.Name("stopstart")+":1" || !strings.HasPrefix(res.str("image_id"), "sha256:") {
		t.Errorf("inspect outputs %#v", res.out)
	}
}

// container_list filters and flattens.
func TestContainerList(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	ref := testImage(t, h, "list")
	name := dockertest.Name("list")
	id := dockertest.RunContainer(t, h.cli, ref, name)
	stopped := dockertest.Name("list-stopped")
	sid := dockertest.RunContainer(t, h.cli, ref, stopped, dockertest.ExitWith(0))
	waitExited(t, h, sid)

	filters := obj{"ancestor": []string{ref}, "label": []string{dockertest.Label + "=" + dockertest.ID()}}
	res := h.apply("docker.container_list", obj{"filters": filters})
	if ids := strs(res.out.GetAttr("ids")); len(ids) != 1 || ids[0] != id {
		t.Errorf("running: ids %v, want [%s]", ids, id)
	}
	c := objects(res.out.GetAttr("containers"))
	if len(c) != 1 || c[0]["state"] != "running" || c[0]["image"] != ref || !strings.HasPrefix(c[0]["status"], "Up") || c[0]["created"] == "" {
		t.Errorf("containers %v", c)
	}
	if names := strs(res.out.GetAttr("names")); len(names) != 1 || names[0] != name {
		t.Errorf("names %v, want [%s]", names, name)
	}
	res = h.apply("docker.container_list", obj{"all": true, "filters": filters})
	if names := strs(res.out.GetAttr("names")); len(names) != 2 || !contains(names, stopped) {
		t.Errorf("all: names %v", names)
	}
	res = h.apply("docker.container_list", obj{"all": true, "filters": obj{"name": []string{stopped}, "status": []string{"exited"}}})
	if ids := strs(res.out.GetAttr("ids")); len(ids) != 1 || ids[0] != sid {
		t.Errorf("exited %s: ids %v", stopped, ids)
	}
}

// signal needs API 1.42: an older daemon would ignore it, so the step
// fails rather than stop with the wrong signal.
func TestSignal(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	name := dockertest.Name("signal")
	dockertest.RunContainer(t, h.cli, testImage(t, h, "signal"), name)
	in := obj{"container": name, "signal": "SIGINT", "grace_period": "5s"}
	if v := h.cli.ClientVersion(); versions.LessThan(v, "1.42") {
		pe := h.fail("docker.container_stop", in)
		wantError(t, pe, false, "signal needs API 1.42", "speaks "+v)
		if !pe.Attribute.Equals(cty.GetAttrPath("signal")) {
			t.Errorf("the error points at %#v, want signal", pe.Attribute)
		}
		return
	}
	if res := h.apply("docker.container_stop", in); res.str("state") != "exited" {
		t.Errorf("stop with SIGINT: %#v", res.out)
	}
}

// The grace period the daemon gets stays below timeout, which also bounds
// the step.
func TestStopTiming(t *testing.T) {
	t.Parallel()
	p := configured(t, obj{"host": "unix://" + filepath.Join(t.TempDir(), "never-asked.sock")})
	pe := failOn(t, p, "docker.container_stop", obj{"container": "whatever", "timeout": "10s", "grace_period": "10s"})
	wantError(t, pe, false, "grace_period 10s must be less than timeout 10s")
	pe = failOn(t, p, "docker.container_restart", obj{"container": "whatever", "timeout": "soon"})
	wantError(t, pe, false, `timeout "soon" is not a duration`)
	if _, err := plan(p, "docker.container_restart", obj{"container": "x", "timeout": "5s", "grace_period": "1m"}); err == nil {
		t.Error("Plan accepted a grace_period above timeout")
	}
}

// waitExited waits until a container that exits by itself has.
func waitExited(t *testing.T, h *harness, id string) {
	t.Helper()
	ctx := t.Context()
	w := h.cli.ContainerWait(ctx, id, client.ContainerWaitOptions{Condition: "not-running"})
	select {
	case <-w.Result:
	case err := <-w.Error:
		t.Fatal(err)
	case <-time.After(30 * time.Second):
		t.Fatalf("container %s did not exit", id)
	}
}
