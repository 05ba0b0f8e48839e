package runbook_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/ui"
	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/runbook"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/plan")

// TestPlanGolden plans each runbook under testdata/plan and compares the
// human view, the diagnostics and the JSON form with golden files.
func TestPlanGolden(t *testing.T) {
	dirs, err := filepath.Glob("testdata/plan/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			loader := dsl.NewLoader()
			cfg, diags := loader.Load(dir)
			if diags.HasErrors() {
				t.Fatal(diags.Error())
			}
			vars, vdiags := loader.ResolveVariables(cfg, nil, nil)
			if vdiags.HasErrors() {
				t.Fatal(vdiags.Error())
			}
			plan, _, pdiags := (&runbook.Planner{Schemas: dsl.Schemas{"core": core.Schema()}}).Plan(cfg, vars)
			var human bytes.Buffer
			ui.Diagnostics(&human, relative(pdiags, dir), nil)
			if plan != nil {
				ui.Plan(&human, plan)
			}
			golden(t, filepath.Join(dir, "plan.golden"), human.Bytes())
			if plan != nil {
				js, err := json.MarshalIndent(plan.JSON(), "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				golden(t, filepath.Join(dir, "plan.json.golden"), append(js, '\n'))
			}
		})
	}
}

// relative makes diagnostic file names independent of the checkout path.
func relative(diags hcl.Diagnostics, dir string) hcl.Diagnostics {
	for _, d := range diags {
		if d.Subject != nil {
			if rel, err := filepath.Rel(dir, d.Subject.Filename); err == nil {
				d.Subject.Filename = rel
			}
		}
	}
	return diags
}

func golden(t *testing.T, path string, got []byte) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./runbook -run TestPlanGolden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs; got:\n%s", path, got)
	}
}
