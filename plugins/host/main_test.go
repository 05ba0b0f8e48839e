package host

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// testPluginBin is the test plugin (internal/testplugin), built once by
// TestMain with version testPluginVersion.
var testPluginBin string

const testPluginVersion = "1.2.3"

// orphanHelperEnv makes the test binary act as a runbook process that
// starts a plugin and waits to be killed (TestPluginDiesWithHost, Linux).
const orphanHelperEnv = "RUNBOOK_HOST_TEST_ORPHAN_DIR"

func TestMain(m *testing.M) {
	if os.Getenv(orphanHelperEnv) != "" {
		os.Exit(m.Run()) // the helper of TestPluginDiesWithHost uses the parent's plugin
	}
	dir, err := os.MkdirTemp("", "runbook-host-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testPluginBin = filepath.Join(dir, "testplugin")
	build := exec.Command("go", "build", "-trimpath", "-ldflags", "-X main.version="+testPluginVersion,
		"-o", testPluginBin, "./internal/testplugin")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the test plugin:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// install copies the test plugin into dir as runbook-provider-NAME
// (with suffix, e.g. "_v1.2.3") and returns its path.
func install(t testing.TB, dir, name, suffix string) string {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(testPluginBin)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, BinaryPrefix+name+suffix)
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// reload rewrites the runbook's main.hcl and reloads it with a new host.
func (tr *testRunbook) reload(t testing.TB, src string) {
	t.Helper()
	tr.cfg = loadRunbook(t, tr.dir, src)
	tr.host = tr.newHost(t)
}

// loadRunbook writes main.hcl into a new directory and loads it.
func loadRunbook(t testing.TB, dir, src string) *dsl.Config {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := dsl.NewLoader().Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return cfg
}

// testRunbook is a runbook directory with the test plugin installed in
// its .runbook/plugins as provider "test", and a host for it.
type testRunbook struct {
	dir    string
	cache  string // schema cache
	plugin string
	cfg    *dsl.Config
	host   *Host
}

const testRunbookSrc = `
runbook "t" {
  version = "1.0.0"
  required_providers {
    test = "~> 1.2"
  }
}

provider "test" {
  greeting = "hello"
}

step "echo" {
  action = test.echo
  value  = "v"
}
`

func newTestRunbook(t testing.TB, src string) *testRunbook {
	t.Helper()
	dir := t.TempDir()
	tr := &testRunbook{dir: dir, cache: t.TempDir(), plugin: install(t, filepath.Join(dir, PluginDir), "test", "")}
	tr.cfg = loadRunbook(t, dir, src)
	tr.host = tr.newHost(t)
	return tr
}

func (tr *testRunbook) newHost(t testing.TB) *Host {
	h := New(Options{Config: tr.cfg, SearchPath: []string{filepath.Join(tr.dir, PluginDir)}, SchemaCache: tr.cache,
		Builtin: map[string]func() provider.Provider{"core": func() provider.Provider { return core.New(core.Options{}) }}})
	t.Cleanup(func() { h.Close() })
	return h
}

func (tr *testRunbook) init(t testing.TB) *Lock {
	t.Helper()
	lock, err := tr.host.Init(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	tr.host = tr.newHost(t) // as the next command would
	return lock
}

// configured returns the plugin provider "test", configured with greeting.
func (tr *testRunbook) configured(t testing.TB, greeting string) *pluginProvider {
	t.Helper()
	p, err := tr.host.Provider(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	if err := p.Configure(context.Background(), cty.ObjectVal(map[string]cty.Value{"greeting": cty.StringVal(greeting)})); err != nil {
		t.Fatal(err)
	}
	return p.(*pluginProvider)
}

func echo(ctx context.Context, p provider.Provider, value string) (*provider.Response, error) {
	return p.Apply(ctx, &provider.Request{Action: "echo", Step: "step.echo",
		Inputs: cty.ObjectVal(map[string]cty.Value{"value": cty.StringVal(value)})})
}
