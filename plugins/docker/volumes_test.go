package docker_test

import (
	"testing"

	"github.com/runbook-dev/runbook/internal/dockertest"
)

// volume_list filters by label and name.
func TestVolumeList(t *testing.T) {
	t.Parallel()
	h := newHarness(t, nil)
	a, b := dockertest.Name("vol-a"), dockertest.Name("vol-b")
	dockertest.CreateVolume(t, h.cli, a, map[string]string{"dev.runbook.test.role": "data"})
	dockertest.CreateVolume(t, h.cli, b, nil)

	res := h.apply("docker.volume_list", obj{"filters": obj{"label": []string{dockertest.Label + "=" + dockertest.ID()}, "name": []string{dockertest.Name("vol-")}}})
	if names := strs(res.out.GetAttr("names")); len(names) != 2 || names[0] != a || names[1] != b {
		t.Errorf("names %v, want [%s %s]", names, a, b)
	}
	res = h.apply("docker.volume_list", obj{"filters": obj{"label": []string{"dev.runbook.test.role=data"}, "name": []string{a}}})
	v := objects(res.out.GetAttr("volumes"))
	if len(v) != 1 || v[0]["name"] != a || v[0]["driver"] != "local" || v[0]["scope"] != "local" || v[0]["mountpoint"] == "" || v[0]["created_at"] == "" {
		t.Fatalf("volumes %v", v)
	}
	if l := res.out.GetAttr("volumes").Index(val(0)).GetAttr("labels"); l.Index(val("dev.runbook.test.role")).AsString() != "data" {
		t.Errorf("labels %#v", l)
	}
}
