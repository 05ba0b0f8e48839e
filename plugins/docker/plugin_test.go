package docker_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/runbook-dev/runbook/internal/dockertest"
	"github.com/runbook-dev/runbook/plugins/docker"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/providertest"
)

// pluginBin is cmd/runbook-provider-docker, built once by TestMain.
var pluginBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "runbook-provider-docker-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pluginBin, err = providertest.Build("./cmd/runbook-provider-docker", dir, "runbook-provider-docker")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// TestPluginProcess runs the provider as runbook does: a real process
// through go-plugin (handshake, gRPC, automatic mutual TLS).
func TestPluginProcess(t *testing.T) {
	t.Parallel()
	cli := dockertest.Client(t)
	ref := dockertest.Name("plugin") + ":1"
	id := dockertest.BuildImage(t, cli, ref)
	p := providertest.Launch(t, pluginBin)
	ctx := context.Background()

	got, err := p.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := docker.New().Schema(ctx)
	if got.Version != docker.Version || len(got.Actions) != len(want.Actions) {
		t.Fatalf("schema: version %s, %d actions; want %s, %d", got.Version, len(got.Actions), docker.Version, len(want.Actions))
	}
	for name, a := range want.Actions {
		b := got.Actions[name]
		if b == nil || b.Mutating != a.Mutating || b.Idempotent != a.Idempotent || !b.OutputType().Equals(a.OutputType()) {
			t.Errorf("action %s over gRPC: %+v, in-process %+v", name, b, a)
		}
	}
	if err := p.Configure(ctx, val(obj{})); err != nil {
		t.Fatalf("Configure: %v", err)
	}

	res := apply(ctx, p, "docker.image_list", obj{"filters": obj{"label": []string{dockertest.RefLabel + "=" + ref}}})
	if res.err != nil {
		t.Fatalf("image_list: %v", res.err)
	}
	if ids := strs(res.out.GetAttr("ids")); len(ids) != 1 || ids[0] != id {
		t.Errorf("image_list over gRPC: ids %v, want [%s]", ids, id)
	}
	if refs := strs(res.out.GetAttr("references")); len(refs) != 1 || refs[0] != ref {
		t.Errorf("image_list over gRPC: references %v", refs)
	}

	// Progress crosses too.
	res = apply(ctx, p, "docker.image_save", obj{"images": []string{ref}, "path": filepath.Join(t.TempDir(), "p.tar")})
	if res.err != nil || !hasProgress(res.events) {
		t.Errorf("image_save over gRPC: %v, events %+v", res.err, res.events)
	}

	// Errors keep their message and retryable flag over gRPC.
	var pe *provider.Error
	res = apply(ctx, p, "docker.container_inspect", obj{"container": dockertest.Name("absent")})
	if !errors.As(res.err, &pe) {
		t.Fatalf("container_inspect of nothing: %v", res.err)
	}
	wantError(t, pe, false, "No such container: "+dockertest.Name("absent"))

	p2 := providertest.Launch(t, pluginBin)
	if err := p2.Configure(ctx, val(obj{"host": "tcp://" + closedPort(t)})); err != nil {
		t.Fatal(err)
	}
	res = apply(ctx, p2, "docker.image_list", obj{})
	if !errors.As(res.err, &pe) {
		t.Fatalf("daemon down over gRPC: %v", res.err)
	}
	wantError(t, pe, true, "cannot reach the daemon at tcp://")
}
