package dsl_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbook-dev/runbook/dsl"
)

// fakeRemote serves every non-local source from one directory per key
// under dir, and records the calls.
type fakeRemote struct {
	dir   string
	calls []dsl.ModuleCall
}

func (f *fakeRemote) ModuleDir(call dsl.ModuleCall) (string, hcl.Diagnostics) {
	f.calls = append(f.calls, call)
	if strings.Contains(call.Module.Source, "broken") {
		return "", hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Broken", Subject: call.Module.SourceRange.Ptr()}}
	}
	return filepath.Join(f.dir, call.Key()), nil
}

func TestRemoteModules(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"root/main.hcl": `
module "local" {
  source = "./local"
}
module "restore" {
  source  = "git::https://example.com/restore.git"
  version = "~> 1.2"
}
`,
		"root/local/main.hcl":            "module \"inner\" {\n  source = \"git::https://example.com/inner.git?ref=v1\"\n}\n",
		"remote/local.inner/main.hcl":    "output \"o\" { value = 1 }\n",
		"remote/restore/main.hcl":        "module \"helper\" {\n  source = \"./helper\"\n}\n",
		"remote/restore/helper/main.hcl": "output \"h\" { value = 2 }\n",
	})
	remote := &fakeRemote{dir: filepath.Join(dir, "remote")}
	loader := dsl.NewLoader()
	loader.Remote = remote
	cfg, diags := loader.Load(filepath.Join(dir, "root"))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var keys []string
	for _, c := range remote.calls {
		keys = append(keys, c.Key())
		if c.RootDir != filepath.Join(dir, "root") {
			t.Errorf("call %s: root %s", c.Key(), c.RootDir)
		}
	}
	if got := strings.Join(keys, " "); got != "local.inner restore" {
		t.Fatalf("remote calls %q, want the non-local ones in load order", got)
	}
	restore := cfg.Modules["restore"]
	if restore.Version != "~> 1.2" || restore.VersionRange.Start.Line != 7 || restore.Inputs["version"] != nil {
		t.Errorf("version = %q at %v, inputs %v", restore.Version, restore.VersionRange, restore.Inputs)
	}
	// A remote module's local modules resolve inside its directory.
	helper := restore.Config.Modules["helper"].Config
	if helper.Dir != filepath.Join(dir, "remote", "restore", "helper") || strings.Join(helper.Path, ".") != "restore.helper" {
		t.Errorf("helper loaded from %s as %v", helper.Dir, helper.Path)
	}
	if cfg.Modules["local"].Config.Modules["inner"].Config.Outputs["o"] == nil {
		t.Error("local.inner was not loaded")
	}
}

func TestRemoteModuleErrors(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": `
module "bad_version" {
  source  = "git::https://example.com/x.git"
  version = "soon"
}
module "local_version" {
  source  = "./x"
  version = "1.0"
}
module "broken" {
  source = "git::https://example.com/broken.git"
}
`})
	loader := dsl.NewLoader()
	loader.Remote = &fakeRemote{dir: dir}
	_, diags := loader.Load(dir)
	want := map[string]int{"Invalid version constraint": 4, "Version constraint on a local module": 8, "Broken": 11}
	for _, d := range diags {
		if line, ok := want[d.Summary]; ok && d.Subject != nil && d.Subject.Start.Line == line {
			delete(want, d.Summary)
		}
	}
	if len(want) > 0 {
		t.Fatalf("missing %v in %v", want, diags)
	}

	// Without a RemoteModules, a non-local source is an error.
	_, diags = dsl.NewLoader().Load(writeFiles(t, map[string]string{"main.hcl": "module \"x\" {\n  source = \"git::https://example.com/x.git\"\n}\n"}))
	if !diags.HasErrors() || diags[len(diags)-1].Summary != "Unsupported module source" {
		t.Fatalf("diags = %v", diags)
	}
}
