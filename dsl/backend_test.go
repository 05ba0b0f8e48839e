package dsl_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbook-dev/runbook/dsl"
)

func TestBackendBlock(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": `
runbook "shared" {
  version = "1.0.0"
  backend "postgres" {
    conn_str    = "postgres://db.example/runbook"
    schema_name = "dr"
    workspace   = "prod-${"eu"}"
  }
}
`})
	cfg, diags := dsl.NewLoader().Load(dir)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	b := cfg.Runbook.Backend
	want := map[string]string{"conn_str": "postgres://db.example/runbook", "schema_name": "dr", "workspace": "prod-eu"}
	if b == nil || b.Type != dsl.BackendPostgres || len(b.Args) != len(want) {
		t.Fatalf("backend = %+v", b)
	}
	for k, v := range want {
		if b.Arg(k) != v {
			t.Errorf("%s = %q, want %q", k, b.Arg(k), v)
		}
	}
	if r := b.ArgRanges["schema_name"]; r.Start.Line != 6 {
		t.Errorf("schema_name range = %s", r)
	}
}

func TestBackendLocalPath(t *testing.T) {
	dir := writeFiles(t, map[string]string{"main.hcl": `
runbook "r" {
  backend "local" { path = "state" }
}
`})
	cfg, diags := dsl.NewLoader().Load(dir)
	if len(diags) > 0 {
		t.Fatal(diags)
	}
	if got := cfg.Runbook.Backend.StateDir(dir); got != filepath.Join(dir, "state") {
		t.Fatalf("StateDir = %q", got)
	}
	if got := cfg.Runbook.Backend.StateDir("/elsewhere"); got != "/elsewhere/state" {
		t.Fatalf("StateDir = %q", got)
	}
}

func TestBackendBlockErrors(t *testing.T) {
	for _, tc := range []struct {
		name, body, summary, detail string
		line, col                   int
	}{
		{"unknown type", `backend "s3" {}`, "Unsupported backend type", `the state backends are "local" and "postgres"`, 3, 11},
		{"variable", `backend "postgres" { conn_str = var.db }`, "Variables not allowed", "RUNBOOK_BACKEND_CONN_STR", 3, 35},
		{"template", `backend "postgres" { workspace = "ws-${local.x}" }`, "Variables not allowed", "Terraform", 3, 42},
		{"unknown argument", `backend "postgres" { database = "x" }`, "Unsupported backend argument",
			`it takes "conn_str", "schema_name", "workspace"`, 3, 24},
		{"local argument", `backend "local" { conn_str = "x" }`, "Unsupported backend argument", `it takes "path"`, 3, 21},
		{"not a string", `backend "local" { path = ["x"] }`, "Unsuitable value type", "", 3, 28},
		{"duplicate", "backend \"local\" {}\n  backend \"postgres\" {}", "Duplicate backend block", "at most one", 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeFiles(t, map[string]string{"main.hcl": "runbook \"r\" {\n  version = \"1.0.0\"\n  " + tc.body + "\n}\n"})
			_, diags := dsl.NewLoader().Load(dir)
			d := wantError(t, diags, tc.summary)
			if !strings.Contains(d.Detail, tc.detail) {
				t.Errorf("detail = %q, want it to say %q", d.Detail, tc.detail)
			}
			if d.Subject == nil || d.Subject.Start.Line != tc.line || d.Subject.Start.Column != tc.col {
				t.Errorf("subject = %v, want line %d column %d", d.Subject, tc.line, tc.col)
			}
		})
	}
}

func TestBackendInModuleIgnored(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"main.hcl":     "runbook \"r\" {}\nmodule \"m\" { source = \"./m\" }\n",
		"m/module.hcl": "runbook \"m\" {\n  backend \"postgres\" {}\n}\n",
	})
	cfg, diags := dsl.NewLoader().Load(dir)
	if diags.HasErrors() || len(diags) != 1 || diags[0].Summary != "Backend configuration ignored" {
		t.Fatalf("diags = %v", diags)
	}
	if cfg.Runbook.Backend != nil || cfg.Modules["m"].Config.Runbook.Backend != nil {
		t.Fatal("a module's backend block was kept")
	}
}

func TestLoadBackend(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"a.hcl": "step \"x\" {\n  action = core.sleep\n  duration = var.undeclared\n}\n",
		"b.hcl": "runbook \"r\" {\n  backend \"postgres\" { workspace = \"w\" }\n}\n",
	})
	b, found, diags := dsl.NewLoader().LoadBackend(dir)
	if len(diags) > 0 || !found || b == nil || b.Arg("workspace") != "w" {
		t.Fatalf("LoadBackend = %+v, %v, %v", b, found, diags)
	}
	b, found, diags = dsl.NewLoader().LoadBackend(t.TempDir())
	if b != nil || found || len(diags) > 0 {
		t.Fatalf("LoadBackend of an empty directory = %+v, %v, %v", b, found, diags)
	}
	dir = writeFiles(t, map[string]string{"image.pkr.hcl": "source \"docker\" \"x\" {}\n"})
	if b, found, diags = dsl.NewLoader().LoadBackend(dir); b != nil || found || len(diags) > 0 {
		t.Fatalf("LoadBackend of another tool's HCL = %+v, %v, %v", b, found, diags)
	}
	dir = writeFiles(t, map[string]string{"main.hcl": "runbook \"r\" {}\n"})
	if b, found, diags = dsl.NewLoader().LoadBackend(dir); b != nil || !found || len(diags) > 0 {
		t.Fatalf("LoadBackend of a runbook without a backend block = %+v, %v, %v", b, found, diags)
	}
	dir = writeFiles(t, map[string]string{"main.hcl": "runbook \"r\" {\n  backend \"etcd\" {}\n}\n"})
	_, _, diags = dsl.NewLoader().LoadBackend(dir)
	if !diags.HasErrors() || diags[0].Severity != hcl.DiagError || diags[0].Summary != "Unsupported backend type" {
		t.Fatalf("diags = %v", diags)
	}
}
