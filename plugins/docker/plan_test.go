package docker_test

import (
	"context"
	"path/filepath"
	"sort"
	"testing"

	"github.com/moby/moby/client"

	"github.com/runbook-dev/runbook/internal/dockertest"
	"github.com/runbook-dev/runbook/plugins/docker"
)

// planInputs are inputs for every action, on the objects of one test.
func planInputs(ref, ctr, dir string) map[string]obj {
	return map[string]obj{
		"ping":                   {},
		"image_list":             {"filters": obj{"reference": []string{ref}}},
		"image_save":             {"images": []string{ref}, "path": filepath.Join(dir, "x.tar")},
		"image_load":             {"path": filepath.Join(dir, "x.tar")},
		"image_tag":              {"source": ref, "target": ref + "-tagged"},
		"image_remove":           {"image": ref, "force": true},
		"container_list":         {"all": true, "filters": obj{"name": []string{ctr}}},
		"container_inspect":      {"container": ctr},
		"container_stop":         {"container": ctr, "timeout": "10s"},
		"container_start":        {"container": ctr},
		"container_restart":      {"container": ctr, "grace_period": "1s"},
		"container_wait_healthy": {"container": ctr},
		"volume_list":            {"filters": obj{"label": []string{dockertest.Label}}},
	}
}

// Plan (dry-run) never sends a mutating request: read-only actions read,
// mutating ones send nothing at all. Every request goes through a proxy
// that records it.
func TestPlanSendsNoMutatingRequest(t *testing.T) {
	t.Parallel()
	cli := dockertest.Client(t)
	px := startProxy(t, cli)
	p := configured(t, obj{"host": px.Host})
	ref := dockertest.Name("plan") + ":1"
	id := dockertest.BuildImage(t, cli, ref)
	ctr := dockertest.Name("plan")
	dockertest.RunContainer(t, cli, ref, ctr)
	inputs := planInputs(ref, ctr, t.TempDir())

	schema, err := docker.New().Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for name := range schema.Actions {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		in, ok := inputs[name]
		if !ok {
			t.Errorf("action %s has no Plan test", name)
			continue
		}
		before := len(px.requests())
		out, err := plan(p, "docker."+name, in)
		if err != nil {
			t.Errorf("Plan %s: %v", name, err)
			continue
		}
		reqs := px.requests()[before:]
		if got := mutating(reqs); len(got) > 0 {
			t.Errorf("Plan %s sent %v", name, got)
		}
		if schema.Actions[name].Mutating && len(reqs) > 0 {
			t.Errorf("Plan of the mutating %s sent %v", name, reqs)
		}
		if !out.Type().IsObjectType() {
			t.Errorf("Plan %s: outputs %#v", name, out)
		}
	}
	// Nothing changed: the image and the running container are there.
	if ins, err := cli.ImageInspect(t.Context(), ref); err != nil || ins.ID != id {
		t.Errorf("after the plan of image_remove: %v", err)
	}
	if res, err := cli.ContainerInspect(t.Context(), ctr, client.ContainerInspectOptions{}); err != nil || !res.Container.State.Running {
		t.Errorf("after the plan of container_stop: %v", err)
	}

	// What a dry-run knows.
	out, _ := plan(p, "docker.image_list", inputs["image_list"])
	if ids := strs(out.GetAttr("ids")); len(ids) != 1 || ids[0] != id {
		t.Errorf("image_list plan: %#v", out)
	}
	out, _ = plan(p, "docker.container_inspect", inputs["container_inspect"])
	if str(out, "state") != "running" {
		t.Errorf("container_inspect plan: %#v", out)
	}
	out, _ = plan(p, "docker.image_save", inputs["image_save"])
	if str(out, "path") != inputs["image_save"]["path"] || out.GetAttr("sha256").IsKnown() {
		t.Errorf("image_save plan: %#v", out)
	}
	// A container an earlier step will create: known at apply.
	out, err = plan(p, "docker.container_inspect", obj{"container": dockertest.Name("later")})
	if err != nil || out.GetAttr("state").IsKnown() {
		t.Errorf("container_inspect plan of a missing container: %v %#v", err, out)
	}
}

// A dry-run against a daemon that is down (a standby not started yet)
// succeeds with unknown outputs.
func TestPlanWhenUnreachable(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := configured(t, obj{"host": "unix://" + filepath.Join(dir, "nothing.sock")})
	for name, in := range planInputs("app:1", "web", dir) {
		out, err := plan(p, "docker."+name, in)
		if err != nil {
			t.Errorf("Plan %s with the daemon down: %v", name, err)
			continue
		}
		if name == "ping" || name == "image_list" || name == "container_list" || name == "volume_list" || name == "container_inspect" {
			for attr, v := range out.AsValueMap() {
				if v.IsKnown() {
					t.Errorf("Plan %s with the daemon down: %s is known: %#v", name, attr, v)
				}
			}
		}
	}
}

// So does one whose daemon answers 5xx; a mistake in the runbook fails the
// dry-run as it would the run.
func TestPlanOnServerError(t *testing.T) {
	t.Parallel()
	cli := dockertest.Client(t)
	px := startProxy(t, cli)
	px.fault("/images/json", 500)
	out, err := plan(configured(t, obj{"host": px.Host}), "docker.image_list", obj{})
	if err != nil || out.GetAttr("images").IsKnown() {
		t.Errorf("Plan image_list on a 500: %v %#v", err, out)
	}
	if _, err := plan(configured(t, obj{"host": px.Host}), "docker.container_list", obj{"filters": obj{"nonsense": []string{"x"}}}); err == nil {
		t.Error("Plan container_list accepted a filter the daemon rejects")
	}
}
