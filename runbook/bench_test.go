package runbook_test

import (
	"testing"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/testgen"
	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/runbook"
)

// BenchmarkPlan10k decodes, validates and plans a generated 10,000-step
// runbook in-process (the whole-process figure is BenchmarkPlanProcess in
// cmd/runbook).
func BenchmarkPlan10k(b *testing.B) {
	dir := b.TempDir()
	if err := testgen.WriteLargeRunbook(dir, 10000); err != nil {
		b.Fatal(err)
	}
	schemas := dsl.Schemas{"core": core.Schema()}
	b.ReportAllocs()
	for b.Loop() {
		loader := dsl.NewLoader()
		cfg, diags := loader.Load(dir)
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		vars, diags := loader.ResolveVariables(cfg, nil, nil)
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		plan, _, diags := (&runbook.Planner{Schemas: schemas}).Plan(cfg, vars)
		if diags.HasErrors() {
			b.Fatal(diags)
		}
		if len(plan.Steps) < 10000 {
			b.Fatalf("planned %d steps", len(plan.Steps))
		}
	}
}
