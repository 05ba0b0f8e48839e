//go:build unix

package host

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/charmbracelet/log"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/state/local"
	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/runbook"
)

func writeExec(t *testing.T, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
}

func TestSearchPathOrder(t *testing.T) {
	root := t.TempDir()
	rb, a, b, exe := filepath.Join(root, "rb"), filepath.Join(root, "a"), filepath.Join(root, "b"), filepath.Join(root, "exe")
	got := SearchPath(rb, a+string(os.PathListSeparator)+string(os.PathListSeparator)+b+string(os.PathListSeparator)+a, exe)
	want := []string{filepath.Join(rb, ".runbook", "plugins"), a, b, exe}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("SearchPath = %q, want %q", got, want)
	}

	t.Setenv(PluginPathEnv, b)
	def := DefaultSearchPath(rb)
	exePath, _ := os.Executable()
	exePath, _ = filepath.EvalSymlinks(exePath)
	if len(def) != 3 || def[1] != b || def[2] != filepath.Dir(exePath) {
		t.Fatalf("DefaultSearchPath = %q", def)
	}

	// One binary in each place: the runbook's own wins, then the
	// environment's, then the one beside runbook; all are listed.
	writeExec(t, filepath.Join(want[0], "runbook-provider-x"))
	writeExec(t, filepath.Join(a, "runbook-provider-x"))
	writeExec(t, filepath.Join(a, "runbook-provider-only_in_a_v0.3.0"))
	writeExec(t, filepath.Join(b, "runbook-provider-x"))
	writeExec(t, filepath.Join(exe, "runbook-provider-x"))
	writeExec(t, filepath.Join(exe, "runbook-provider-y"))
	writeExec(t, filepath.Join(exe, "runbook-provider-bad.name"))
	if err := os.WriteFile(filepath.Join(exe, "runbook-provider-noexec"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	plugins := Discover(want)
	var listed []string
	for _, p := range plugins {
		listed = append(listed, p.Name+"@"+filepath.Base(p.Dir)+":"+p.Version)
	}
	wantListed := []string{"x@plugins:", "only_in_a@a:0.3.0", "x@a:", "x@b:", "x@exe:", "y@exe:"}
	if !reflect.DeepEqual(listed, wantListed) {
		t.Fatalf("Discover = %q, want %q", listed, wantListed)
	}
	for name, dir := range map[string]string{"x": want[0], "y": exe, "only_in_a": a} {
		p, ok := Find(plugins, name, nil)
		if !ok || p.Dir != dir {
			t.Errorf("Find(%s) = %+v, want from %s", name, p, dir)
		}
	}
	if _, ok := Find(plugins, "z", nil); ok {
		t.Error("Find(z) found something")
	}
	// Without the runbook's own, the environment's comes first.
	os.Remove(filepath.Join(want[0], "runbook-provider-x"))
	if p, _ := Find(Discover(want), "x", nil); p.Dir != a {
		t.Errorf("Find(x) took %s, want %s", p.Dir, a)
	}
}

func TestParseBinaryName(t *testing.T) {
	for file, want := range map[string][2]string{
		"runbook-provider-openstack":        {"openstack", ""},
		"runbook-provider-openstack_v1.2.3": {"openstack", "1.2.3"},
		"runbook-provider-my_cloud_v0.1.0":  {"my_cloud", "0.1.0"},
		"runbook-provider-my_vendor":        {"my_vendor", ""},
	} {
		name, ver, ok := ParseBinaryName(file)
		if !ok || name != want[0] || ver != want[1] {
			t.Errorf("ParseBinaryName(%q) = %q %q %v, want %q", file, name, ver, ok, want)
		}
	}
	for _, file := range []string{"runbook-provider-", "runbook", "terraform-provider-aws", "runbook-provider-a.b"} {
		if _, _, ok := ParseBinaryName(file); ok {
			t.Errorf("ParseBinaryName(%q) accepted it", file)
		}
	}
}

func TestFindPrefersVersionThatSatisfies(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"runbook-provider-x_v1.0.0", "runbook-provider-x_v1.5.0", "runbook-provider-x_v2.0.0", "runbook-provider-x"} {
		writeExec(t, filepath.Join(dir, f))
	}
	plugins := Discover([]string{dir})
	p, _ := Find(plugins, "x", nil)
	if p.Version != "2.0.0" {
		t.Errorf("without constraint got %q, want the newest", p.Version)
	}
	cfg := loadRunbook(t, t.TempDir(), "runbook \"r\" {\n  required_providers {\n    x = \"~> 1.0\"\n  }\n}\n")
	p, _ = Find(plugins, "x", collectNeeds(cfg)["x"].parsed)
	if p.Version != "1.5.0" {
		t.Errorf("with ~> 1.0 got %q, want 1.5.0", p.Version)
	}
}

func TestLockRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), LockFileName)
	l := &Lock{Providers: map[string]*LockedProvider{
		"openstack": {Name: "openstack", Version: "1.4.0", SHA256: strings.Repeat("ab", 32), Path: ".runbook/plugins/runbook-provider-openstack"},
		"manager":   {Name: "manager", Version: "0.2.0", SHA256: strings.Repeat("01", 32), Path: "/opt/runbook/runbook-provider-manager"},
	}}
	if err := WriteLock(path, l); err != nil {
		t.Fatal(err)
	}
	src, _ := os.ReadFile(path)
	want := `# This file is maintained by "runbook init": it records the provider plugins
# and modules this runbook was initialised with. Commit it; every run checks it.

provider "manager" {
  version = "0.2.0"
  sha256  = "` + strings.Repeat("01", 32) + `"
  path    = "/opt/runbook/runbook-provider-manager"
}

provider "openstack" {
  version = "1.4.0"
  sha256  = "` + strings.Repeat("ab", 32) + `"
  path    = ".runbook/plugins/runbook-provider-openstack"
}
`
	if string(src) != want {
		t.Fatalf("lock file:\n%s\nwant:\n%s", src, want)
	}
	got, err := ReadLock(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, l) {
		t.Fatalf("read back %+v, want %+v", got, l)
	}
	if empty, err := ReadLock(filepath.Join(t.TempDir(), LockFileName)); err != nil || len(empty.Providers) != 0 {
		t.Fatalf("missing lock file: %v %v", empty, err)
	}
	for _, bad := range []string{
		"provider \"x\" {\n  version = \"1\"\n  sha256 = \"zz\"\n}\n",
		"provider \"x\" {\n  version = \"1\"\n}\n",
		"provider \"x\" {\n  version = \"1\"\n  sha256 = \"" + strings.Repeat("ab", 32) + "\"\n}\nprovider \"x\" {\n  version = \"1\"\n  sha256 = \"" + strings.Repeat("ab", 32) + "\"\n}\n",
	} {
		if _, err := ParseLock([]byte(bad), "bad.hcl"); err == nil {
			t.Errorf("ParseLock accepted %q", bad)
		}
	}
}

func TestInitWritesLock(t *testing.T) {
	tr := newTestRunbook(t, testRunbookSrc)
	lock := tr.init(t)
	sum, err := hashFile(tr.plugin)
	if err != nil {
		t.Fatal(err)
	}
	want := &LockedProvider{Name: "test", Version: testPluginVersion, SHA256: sum, Path: ".runbook/plugins/runbook-provider-test"}
	if got := lock.Providers["test"]; !reflect.DeepEqual(got, want) || len(lock.Providers) != 1 {
		t.Fatalf("lock = %+v, want only %+v", lock.Providers, want)
	}
	read, err := ReadLock(filepath.Join(tr.dir, LockFileName))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(read, lock) {
		t.Fatalf("lock file holds %+v, want %+v", read.Providers["test"], want)
	}
	if diags := tr.newHost(t).Verify(); diags.HasErrors() {
		t.Fatalf("Verify after init: %s", diags.Error())
	}
	// A plugin outside the runbook's directory is recorded by absolute path.
	if got := lockPath(tr.dir, "/opt/x/runbook-provider-test"); got != "/opt/x/runbook-provider-test" {
		t.Errorf("lockPath = %q", got)
	}
}

func TestInitFailsWhenNotInstalled(t *testing.T) {
	tr := newTestRunbook(t, testRunbookSrc+"\nstep \"other\" {\n  action = missing.thing\n}\nprovider \"missing\" {}\n")
	_, err := tr.host.Init(context.Background())
	if err == nil || !strings.Contains(err.Error(), `provider "missing" is not installed: no runbook-provider-missing in `) {
		t.Fatalf("Init: %v", err)
	}
	if _, serr := os.Stat(filepath.Join(tr.dir, LockFileName)); serr == nil {
		t.Fatal("Init wrote a lock file although a provider is missing")
	}
}

func TestNotInitialisedRefused(t *testing.T) {
	tr := newTestRunbook(t, testRunbookSrc)
	diags := tr.host.Verify()
	if !diags.HasErrors() || diags[0].Summary != "Provider not initialised" || !strings.Contains(diags[0].Detail, "Run `runbook init`") ||
		!strings.Contains(diags[0].Detail, LockFileName) {
		t.Fatalf("Verify: %v", diags)
	}
	if diags[0].Subject == nil || diags[0].Subject.Start.Line != 5 {
		t.Errorf("the diagnostic should point at required_providers: %v", diags[0].Subject)
	}
	if _, err := tr.host.Provider(context.Background(), "test"); err == nil || !strings.Contains(err.Error(), "runbook init") {
		t.Fatalf("Provider: %v", err)
	}
	if _, ok := tr.host.Schemas().ProviderSchema("test"); ok {
		t.Fatal("a schema for a plugin that is not initialised")
	}
	if tr.host.Launches() != 0 {
		t.Fatalf("%d launches of a plugin that is not initialised", tr.host.Launches())
	}
}

func TestChecksumMismatchRefused(t *testing.T) {
	tr := newTestRunbook(t, testRunbookSrc)
	lock := tr.init(t)
	locked := lock.Providers["test"].SHA256
	f, err := os.OpenFile(tr.plugin, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("tampered"))
	f.Close()
	actual, _ := hashFile(tr.plugin)

	h := tr.newHost(t)
	lockFile := filepath.Join(tr.dir, LockFileName)
	check := func(what, msg string) {
		t.Helper()
		for _, s := range []string{`Refusing to run provider "test"`, tr.plugin, "has sha256 " + actual, lockFile + " records sha256 " + locked} {
			if !strings.Contains(msg, s) {
				t.Errorf("%s: %q does not say %q", what, msg, s)
			}
		}
	}
	diags := h.Verify()
	if !diags.HasErrors() || diags[0].Summary != "Provider plugin checksum mismatch" {
		t.Fatalf("Verify: %v", diags)
	}
	check("Verify", diags[0].Detail)
	_, err = h.Provider(context.Background(), "test")
	if err == nil {
		t.Fatal("Provider started a tampered plugin")
	}
	check("Provider", err.Error())
	if h.Launches() != 0 {
		t.Fatal("a tampered plugin was started")
	}

	// Should the binary change between the check and the start, go-plugin's
	// SecureConfig refuses it, and the message is as clear.
	_, err = h.launch("test", tr.plugin, locked)
	if err == nil {
		t.Fatal("launch started a tampered plugin")
	}
	check("launch", err.Error())
}

func TestVersionConstraint(t *testing.T) {
	src := strings.Replace(testRunbookSrc, `"~> 1.2"`, `"~> 2.0"`, 1)
	tr := newTestRunbook(t, src)
	_, err := tr.host.Init(context.Background())
	if err == nil || !strings.Contains(err.Error(), `is version 1.2.3, which does not satisfy the required_providers constraint "~> 2.0"`) {
		t.Fatalf("Init: %v", err)
	}
	// A lock file made when the constraint allowed the plugin: the run
	// refuses it, naming the constraint.
	sum, _ := hashFile(tr.plugin)
	if err := WriteLock(filepath.Join(tr.dir, LockFileName), &Lock{Providers: map[string]*LockedProvider{
		"test": {Name: "test", Version: testPluginVersion, SHA256: sum}}}); err != nil {
		t.Fatal(err)
	}
	diags := tr.newHost(t).Verify()
	if !diags.HasErrors() || diags[0].Summary != "Provider version not allowed" || !strings.Contains(diags[0].Detail, `constraint "~> 2.0"`) {
		t.Fatalf("Verify: %v", diags)
	}
	// The version comes from the plugin: the same binary reporting 2.1.0
	// passes.
	t.Setenv("RUNBOOK_TESTPLUGIN_VERSION", "2.1.0")
	tr.host = tr.newHost(t)
	tr.cache = t.TempDir() // the schema is cached by binary: forget 1.2.3
	tr.host = tr.newHost(t)
	if lock := tr.init(t); lock.Providers["test"].Version != "2.1.0" {
		t.Fatalf("locked %+v", lock.Providers["test"])
	}
}

func TestSchemaSource(t *testing.T) {
	src := testRunbookSrc + `
provider "absent" {}

step "bad" {
  action  = test.echo
  valeu   = "typo"
}
`
	tr := newTestRunbook(t, testRunbookSrc)
	tr.init(t)
	tr.reload(t, src)
	h := tr.host
	s := h.Schemas()
	ps, ok := s.ProviderSchema("test")
	if !ok || ps.Version != testPluginVersion || ps.Actions["echo"] == nil || ps.Actions["crash"] == nil || !ps.Actions["crash"].Mutating {
		t.Fatalf("test schema: %v %+v", ok, ps)
	}
	if ps, ok := s.ProviderSchema("core"); !ok || ps.Actions["exec"] == nil {
		t.Fatal("no core schema")
	}
	if _, ok := s.ProviderSchema("absent"); ok {
		t.Fatal("a schema for a provider that is not installed")
	}
	// init cached the schema on disk: this host started nothing.
	if h.Launches() != 0 {
		t.Fatalf("%d launches; the schema cache should have served", h.Launches())
	}
	// The validator checks inputs against the plugin's real schema and
	// warns about the provider it cannot find.
	diags := runbook.ValidateAll(tr.cfg, s)
	var text string
	for _, d := range diags {
		text += d.Summary + "; " + d.Detail + "\n"
	}
	if !strings.Contains(text, `Unsupported argument; An argument named "valeu" is not expected here`) {
		t.Errorf("no error for the misspelt input:\n%s", text)
	}
	if !strings.Contains(text, "Provider schema not available") || !strings.Contains(text, `"absent"`) {
		t.Errorf("no warning for the missing provider:\n%s", text)
	}

	// Without the disk cache, the schema comes from the plugin, started
	// once per process whatever the number of lookups.
	h2 := New(Options{Config: tr.cfg, SearchPath: []string{filepath.Join(tr.dir, PluginDir)}})
	defer h2.Close()
	for range 3 {
		if _, ok := h2.Schemas().ProviderSchema("test"); !ok {
			t.Fatal("no schema from the plugin")
		}
	}
	if h2.Launches() != 1 {
		t.Fatalf("%d launches for the schema, want 1", h2.Launches())
	}
}

func TestSchemaJSONRoundTrip(t *testing.T) {
	for _, s := range []*dsl.ProviderSchema{core.Schema(), {Version: "1.0.0", Actions: map[string]*dsl.ActionSchema{
		"x": {Inputs: &dsl.BlockSchema{Blocks: map[string]*dsl.NestedBlockSchema{
			"host": {Nesting: dsl.NestingList, MinItems: 1, MaxItems: 3, Block: &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{
				"name": {Type: cty.String, Required: true, Description: "d"},
				"tags": {Type: cty.Map(cty.String), Sensitive: true}}}},
		}}, Outputs: map[string]cty.Type{"o": cty.List(cty.Object(map[string]cty.Type{"a": cty.Number}))}},
	}}} {
		enc, err := EncodeSchema(s)
		if err != nil {
			t.Fatal(err)
		}
		dec, err := DecodeSchema(enc)
		if err != nil {
			t.Fatal(err)
		}
		again, err := EncodeSchema(dec)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(enc, again) {
			t.Fatalf("round trip changed the schema:\n%+v\n%+v", enc, again)
		}
		for name, a := range s.Actions {
			if !a.OutputType().Equals(dec.Actions[name].OutputType()) || !a.Inputs.ImpliedType().Equals(dec.Actions[name].Inputs.ImpliedType()) {
				t.Errorf("action %s changed type", name)
			}
		}
	}
}

// lazyRunbook configures the plugin provider but runs only core steps.
const lazyRunbook = `
runbook "lazy" {
  required_providers {
    test = ">= 1.0"
  }
}

provider "test" {
  greeting = "never used"
}

step "nap" {
  action   = core.sleep
  duration = "0s"
}
`

func newEngine(t *testing.T, h *Host) (*runbook.Engine, *local.Backend) {
	t.Helper()
	b, err := local.New(filepath.Join(t.TempDir(), "state"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	sealer, err := runbook.NewSealer(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	return &runbook.Engine{Schemas: h.Schemas(), Providers: h.Provider, Backend: b, Sealer: sealer}, b
}

func applyRunbook(t *testing.T, h *Host, cfg *dsl.Config) *runbook.Result {
	t.Helper()
	eng, _ := newEngine(t, h)
	vars, diags := dsl.NewLoader().ResolveVariables(cfg, nil, nil)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	res, diags, err := eng.Apply(context.Background(), cfg, runbook.ApplyOptions{Vars: vars})
	if err != nil || diags.HasErrors() {
		t.Fatalf("apply: %v %s", err, diags.Error())
	}
	return res
}

func TestLazyLaunch(t *testing.T) {
	tr := newTestRunbook(t, lazyRunbook)
	tr.init(t)
	h := tr.newHost(t)
	if diags := h.Verify(); diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	res := applyRunbook(t, h, tr.cfg)
	if res.Status != runbook.RunFinished {
		t.Fatalf("run %s", res.Status)
	}
	if n := h.Launches(); n != 0 {
		t.Fatalf("%d plugin processes started for a provider no step uses", n)
	}
}

func TestEngineRunsPluginSteps(t *testing.T) {
	src := testRunbookSrc + `
provider "test" {
  alias    = "other"
  greeting = "bonjour"
}

step "echo2" {
  action   = test.echo
  provider = test.other
  value    = step.echo.value
}

output "greetings" {
  value = [step.echo.greeting, step.echo2.greeting]
}
`
	tr := newTestRunbook(t, src)
	tr.init(t)
	h := tr.newHost(t)
	res := applyRunbook(t, h, tr.cfg)
	if res.Status != runbook.RunFinished {
		t.Fatalf("run %s", res.Status)
	}
	if got := res.Outputs[0].Value; !got.RawEquals(cty.TupleVal([]cty.Value{cty.StringVal("hello"), cty.StringVal("bonjour")})) {
		t.Fatalf("outputs %#v", got)
	}
	// One process per provider configuration, stopped at the end.
	if n := h.Launches(); n != 2 {
		t.Fatalf("%d launches, want 2 (one per configuration)", n)
	}
	h.mu.Lock()
	live := len(h.instances)
	h.mu.Unlock()
	if live != 0 {
		t.Fatalf("%d plugin processes still running after the run", live)
	}
}

func processGone(pid int) bool {
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}

func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("plugin process %d still exists", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func echoPID(t *testing.T, p provider.Provider, wantGreeting string) int {
	t.Helper()
	resp, err := echo(context.Background(), p, "v")
	if err != nil {
		t.Fatal(err)
	}
	out := resp.Outputs
	if g := out.GetAttr("greeting").AsString(); g != wantGreeting {
		t.Fatalf("greeting %q, want %q", g, wantGreeting)
	}
	pid, _ := out.GetAttr("pid").AsBigFloat().Int64()
	return int(pid)
}

func TestCrashThenRelaunch(t *testing.T) {
	tr := newTestRunbook(t, testRunbookSrc)
	tr.init(t)
	var logs bytes.Buffer
	logger := log.NewWithOptions(&logs, log.Options{Level: log.DebugLevel})
	h := New(Options{Config: tr.cfg, SearchPath: []string{filepath.Join(tr.dir, PluginDir)}, Logger: logger})
	defer h.Close()
	p, err := h.Provider(context.Background(), "test")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if err := p.Configure(context.Background(), cty.ObjectVal(map[string]cty.Value{"greeting": cty.StringVal("hi")})); err != nil {
		t.Fatal(err)
	}
	pid1 := echoPID(t, p, "hi")

	_, err = p.Apply(context.Background(), &provider.Request{Action: "crash", Step: "step.crash",
		Inputs: cty.ObjectVal(map[string]cty.Value{"message": cty.StringVal("panic: the disk is on fire")})})
	if err == nil {
		t.Fatal("crash returned no error")
	}
	if !provider.Retryable(err) {
		t.Errorf("a crash should be retryable: %#v", err)
	}
	const want = "provider test crashed (exit status 3): panic: the disk is on fire"
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("crash error %q, want it to start with %q", err, want)
	}
	waitGone(t, pid1)

	// The next call starts a new process and configures it as before.
	pid2 := echoPID(t, p, "hi")
	if pid2 == pid1 {
		t.Fatal("the same process served after a crash")
	}
	if h.Launches() != 2 {
		t.Fatalf("%d launches, want 2", h.Launches())
	}
	// The plugin's stderr reached our logger at debug level.
	if !strings.Contains(logs.String(), "DEBU") || !strings.Contains(logs.String(), "the disk is on fire") {
		t.Errorf("the logger did not get the plugin's stderr:\n%s", logs.String())
	}
	p.Close()
	waitGone(t, pid2)
	if _, err := echo(context.Background(), p, "v"); err == nil {
		t.Error("a closed provider served a call")
	}
}

// TestEngineRetriesOnFreshPlugin runs a step whose first attempt crashes
// the plugin: the attempt fails with the crash message, the retry starts
// a new process and succeeds.
func TestEngineRetriesOnFreshPlugin(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "crashed-once")
	src := testRunbookSrc + `
step "flaky" {
  action      = test.crash
  message     = "fatal: out of file descriptors"
  once_marker = "` + marker + `"
  depends_on  = [step.echo]
  retry {
    attempts = 2
    delay    = "1ms"
  }
}
`
	tr := newTestRunbook(t, src)
	tr.init(t)
	eng, _ := newEngine(t, tr.host)
	var mu sync.Mutex
	var failures []string
	eng.Observer = runbook.ObserverFunc(func(e runbook.Event) {
		if e.Type == runbook.EventAttemptFailed {
			mu.Lock()
			failures = append(failures, e.Step+": "+e.Message)
			mu.Unlock()
		}
	})
	vars, _ := dsl.NewLoader().ResolveVariables(tr.cfg, nil, nil)
	res, diags, err := eng.Apply(context.Background(), tr.cfg, runbook.ApplyOptions{Vars: vars})
	if err != nil || diags.HasErrors() {
		t.Fatal(err, diags)
	}
	if res.Status != runbook.RunFinished {
		t.Fatalf("run %s; failures %q", res.Status, failures)
	}
	want := "step.flaky: provider test crashed (exit status 3): fatal: out of file descriptors"
	if len(failures) != 1 || !strings.HasPrefix(failures[0], want) {
		t.Fatalf("attempt failures %q, want one starting %q", failures, want)
	}
	if n := tr.host.Launches(); n != 2 {
		t.Fatalf("%d launches, want 2", n)
	}
}

func TestCancelReachesPlugin(t *testing.T) {
	tr := newTestRunbook(t, testRunbookSrc)
	tr.init(t)
	p := tr.configured(t, "x")
	marker := filepath.Join(t.TempDir(), "marker")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := p.Apply(ctx, &provider.Request{Action: "sleep_until_cancel", Step: "step.s",
			Inputs: cty.ObjectVal(map[string]cty.Value{"marker": cty.StringVal(marker)})})
		done <- err
	}()
	waitFor(t, marker, "started")
	cancel()
	select {
	case err := <-done:
		if err == nil || provider.Retryable(err) || strings.Contains(err.Error(), "crashed") {
			t.Fatalf("cancelled Apply returned %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Apply did not return after cancel")
	}
	waitFor(t, marker, "cancelled")
	// The plugin lives on.
	echoPID(t, p, "x")
	if tr.host.Launches() != 1 {
		t.Fatalf("%d launches", tr.host.Launches())
	}
}

func waitFor(t *testing.T, path, content string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		b, _ := os.ReadFile(path)
		if string(b) == content {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s holds %q, want %q", path, b, content)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCleanShutdown(t *testing.T) {
	tr := newTestRunbook(t, testRunbookSrc)
	tr.init(t)
	p := tr.configured(t, "x")
	pid := echoPID(t, p, "x")
	if pid != p.pid() {
		t.Fatalf("plugin says pid %d, host %d", pid, p.pid())
	}
	start := time.Now()
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}
	if !processGone(pid) {
		t.Fatalf("plugin process %d survived Close", pid)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("Close took %s: the plugin did not exit gracefully", d)
	}
	if err := p.Close(); err != nil {
		t.Fatal(err)
	}

	// Host.Close stops whatever its providers left running.
	p2 := tr.configured(t, "y")
	pid2 := echoPID(t, p2, "y")
	tr.host.Close()
	if !processGone(pid2) {
		t.Fatalf("plugin process %d survived Host.Close", pid2)
	}
}

func TestMagicCookie(t *testing.T) {
	cmd := exec.Command(testPluginBin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() == 0 {
		t.Fatalf("the plugin started by hand exited with %v", err)
	}
	if !strings.Contains(stderr.String(), "This binary is a plugin. These are not meant to be executed directly.") {
		t.Fatalf("stderr: %q", stderr.String())
	}
}

func TestStatus(t *testing.T) {
	src := testRunbookSrc + "\nprovider \"absent\" {}\n"
	tr := newTestRunbook(t, src)
	st := tr.host.Status(context.Background())
	byName := map[string]ProviderStatus{}
	for _, s := range st {
		byName[s.Name] = s
	}
	if len(st) != 2 || byName["absent"].Installed != nil {
		t.Fatalf("status %+v", st)
	}
	test := byName["test"]
	if test.Required != "~> 1.2" || test.Installed == nil || test.Version != testPluginVersion || test.Locked != nil ||
		!strings.Contains(test.Problem, "runbook init") {
		t.Fatalf("before init: %+v", test)
	}
	tr.reload(t, testRunbookSrc)
	tr.init(t)
	tr.reload(t, src)
	test = tr.host.Status(context.Background())[1]
	if test.Locked == nil || test.Locked.Version != testPluginVersion || test.Problem != "" || test.SHA256 != test.Locked.SHA256 {
		t.Fatalf("after init: %+v", test)
	}
}

func TestAllSchemas(t *testing.T) {
	tr := newTestRunbook(t, testRunbookSrc)
	install(t, filepath.Join(tr.dir, PluginDir), "other", "_v0.0.1")
	all, err := tr.host.AllSchemas(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all["core"] == nil || all["test"] == nil || all["other"] == nil {
		t.Fatalf("schemas of %v", reflect.ValueOf(all).MapKeys())
	}
}

func TestKilledBetweenCallsRelaunches(t *testing.T) {
	tr := newTestRunbook(t, testRunbookSrc)
	tr.init(t)
	p := tr.configured(t, "again")
	pid := echoPID(t, p, "again")
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	p.mu.Lock()
	exited := waitExited(p.cur.client, 5*time.Second) // go-plugin noticed
	p.mu.Unlock()
	if !exited {
		t.Fatal("go-plugin did not notice the exit")
	}
	if pid2 := echoPID(t, p, "again"); pid2 == pid {
		t.Fatal("no new process")
	}
}
