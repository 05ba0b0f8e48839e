package dockertest_test

import (
	"context"
	"testing"
	"time"

	"github.com/moby/moby/client"

	"github.com/runbook-dev/runbook/internal/dockertest"
)

// The test image builds without a registry, runs, answers its healthcheck,
// and everything it made is labelled.
func TestImageAndContainer(t *testing.T) {
	cli := dockertest.Client(t)
	ref := dockertest.Name("selftest") + ":1"
	id := dockertest.BuildImage(t, cli, ref)
	ctx := context.Background()
	ins, err := cli.ImageInspect(ctx, ref)
	if err != nil || ins.ID != id {
		t.Fatalf("inspect %s: %v, ID %s want %s", ref, err, ins.ID, id)
	}
	if ins.Config == nil || ins.Config.Labels[dockertest.Label] != dockertest.ID() || ins.Config.Labels[dockertest.RefLabel] != ref {
		t.Errorf("labels of %s: %+v", ref, ins.Config)
	}
	name := dockertest.Name("selftest")
	ctr := dockertest.RunContainer(t, cli, ref, name)
	deadline := time.Now().Add(30 * time.Second)
	for {
		res, err := cli.ContainerInspect(ctx, ctr, client.ContainerInspectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		st := res.Container.State
		if st.Health != nil && st.Health.Status == "healthy" {
			break
		}
		if !st.Running || time.Now().After(deadline) {
			t.Fatalf("container %s: %+v %+v", name, st, st.Health)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if res, err := cli.ContainerInspect(ctx, ctr, client.ContainerInspectOptions{}); err != nil || res.Container.Config.Labels[dockertest.Label] != dockertest.ID() {
		t.Errorf("container labels: %v %+v", err, res.Container.Config)
	}
}
