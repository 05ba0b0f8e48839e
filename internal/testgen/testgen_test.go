package testgen_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/testgen"
	"github.com/runbook-dev/runbook/plugins/core"
)

// TestWriteGatedRunbook checks that the gated runbook loads and validates,
// with a gate path that needs quoting, and that its last step waits for
// every other step.
func TestWriteGatedRunbook(t *testing.T) {
	dir := t.TempDir()
	gate := filepath.Join(dir, `odd "gate" ${x} %{y} \ path`)
	if err := testgen.WriteGatedRunbook(dir, 5, gate); err != nil {
		t.Fatal(err)
	}
	cfg, diags := dsl.NewLoader().Load(dir)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if diags := dsl.Validate(cfg, dsl.Schemas{"core": core.Schema()}); diags.HasErrors() {
		t.Fatal(diags)
	}
	src, err := os.ReadFile(filepath.Join(dir, "main.hcl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(src), "step \""); n != 5 {
		t.Errorf("%d steps, want 5", n)
	}
	if !strings.Contains(string(src), "depends_on = [step.s0, step.s1, step.s2, step.s3, ]") {
		t.Errorf("the last step does not wait for all the others:\n%s", src)
	}
	f, hdiags := hclsyntax.ParseConfig(src, "main.hcl", hcl.InitialPos)
	if hdiags.HasErrors() {
		t.Fatal(hdiags)
	}
	blocks := f.Body.(*hclsyntax.Body).Blocks
	cmd, hdiags := blocks[len(blocks)-1].Body.Attributes["command"].Expr.Value(nil)
	if hdiags.HasErrors() {
		t.Fatal(hdiags)
	}
	if got := cmd.Index(cty.NumberIntVal(2)).AsString(); got != gate {
		t.Errorf("gate path %q, want %q", got, gate)
	}
}

// TestDeps checks each shape's step count and edges, and that every
// dependency comes before its step (index order is a sequential order).
func TestDeps(t *testing.T) {
	cases := []struct {
		shape      testgen.Shape
		n, edges   int
		sinks      []int
		want       map[int][]int // some steps' dependencies
		wantErrFor int           // a step count the shape refuses; 0 for none
	}{
		{testgen.FanOutIn, 6, 8, []int{5}, map[int][]int{0: nil, 1: {0}, 4: {0}, 5: {1, 2, 3, 4}}, 0},
		{testgen.Chain, 5, 4, []int{4}, map[int][]int{0: nil, 1: {0}, 4: {3}}, 0},
		{testgen.FanOut, 4, 0, []int{0, 1, 2, 3}, map[int][]int{3: nil}, 0},
		// 4 rows of 4: rows 1-3 have 2 edge steps of 2 dependencies and 2
		// inner steps of 3, so 3*(2*2+2*3) = 30 edges.
		{testgen.Grid, 16, 30, []int{12, 13, 14, 15}, map[int][]int{
			0: nil, 3: nil, 4: {0, 1}, 5: {0, 1, 2}, 7: {2, 3}, 13: {8, 9, 10}, 15: {10, 11}}, 15},
	}
	for _, c := range cases {
		deps, err := testgen.Deps(c.shape, c.n)
		if err != nil {
			t.Fatal(err)
		}
		if len(deps) != c.n {
			t.Errorf("shape %d: %d steps, want %d", c.shape, len(deps), c.n)
		}
		edges := 0
		for i, d := range deps {
			edges += len(d)
			for _, j := range d {
				if j >= i {
					t.Errorf("shape %d: step %d waits for later step %d", c.shape, i, j)
				}
			}
		}
		if edges != c.edges {
			t.Errorf("shape %d: %d edges, want %d", c.shape, edges, c.edges)
		}
		for i, want := range c.want {
			if !slices.Equal(deps[i], want) {
				t.Errorf("shape %d: step %d waits for %v, want %v", c.shape, i, deps[i], want)
			}
		}
		if got := testgen.Sinks(deps); !slices.Equal(got, c.sinks) {
			t.Errorf("shape %d: sinks %v, want %v", c.shape, got, c.sinks)
		}
		if c.wantErrFor != 0 {
			if _, err := testgen.Deps(c.shape, c.wantErrFor); err == nil {
				t.Errorf("shape %d accepts %d steps", c.shape, c.wantErrFor)
			}
		}
	}
}

// TestBenchShapeSizes checks the full-size shapes of cmd/runbook-bench:
// 10,000 fan-out/fan-in steps, a 1,000-deep chain and a 100 x 100 grid.
func TestBenchShapeSizes(t *testing.T) {
	for _, c := range []struct {
		shape     testgen.Shape
		n, depth  int
		lastDeps  int
		sinkCount int
	}{
		{testgen.FanOutIn, 10000, 3, 9998, 1},
		{testgen.Chain, 1000, 1000, 1, 1},
		{testgen.Grid, 10000, 100, 2, 100},
	} {
		deps, err := testgen.Deps(c.shape, c.n)
		if err != nil {
			t.Fatal(err)
		}
		if got := depth(deps); got != c.depth {
			t.Errorf("shape %d: depth %d, want %d", c.shape, got, c.depth)
		}
		if got := len(deps[c.n-1]); got != c.lastDeps {
			t.Errorf("shape %d: the last step waits for %d, want %d", c.shape, got, c.lastDeps)
		}
		if got := len(testgen.Sinks(deps)); got != c.sinkCount {
			t.Errorf("shape %d: %d sinks, want %d", c.shape, got, c.sinkCount)
		}
	}
}

// depth is the number of steps on the longest path.
func depth(deps [][]int) int {
	level := make([]int, len(deps))
	most := 0
	for i, d := range deps {
		level[i] = 1
		for _, j := range d {
			level[i] = max(level[i], level[j]+1)
		}
		most = max(most, level[i])
	}
	return most
}

// TestWriteShapeRunbook loads and validates each shape with each action
// (the plugin's with a stand-in schema for the test provider), and checks
// that the gate replaces only the last step's action.
func TestWriteShapeRunbook(t *testing.T) {
	schemas := dsl.Schemas{"core": core.Schema(), testgen.PluginName: {
		Version: "0.1.0",
		Actions: map[string]*dsl.ActionSchema{"noop": {Inputs: &dsl.BlockSchema{}, Idempotent: true}},
	}}
	for _, shape := range []testgen.Shape{testgen.FanOutIn, testgen.Chain, testgen.FanOut, testgen.Grid} {
		for _, action := range []testgen.Action{testgen.Sleep0, testgen.ExecTrue, testgen.PluginNoop} {
			dir := t.TempDir()
			gate := filepath.Join(dir, "gate")
			if err := testgen.WriteShapeRunbook(dir, shape, 9, testgen.Options{Action: action, Gate: gate}); err != nil {
				t.Fatal(err)
			}
			cfg, diags := dsl.NewLoader().Load(dir)
			if diags.HasErrors() {
				t.Fatalf("shape %d, action %d: %s", shape, action, diags)
			}
			if diags := dsl.Validate(cfg, schemas); diags.HasErrors() {
				t.Fatalf("shape %d, action %d: %s", shape, action, diags)
			}
			src, err := os.ReadFile(filepath.Join(dir, "main.hcl"))
			if err != nil {
				t.Fatal(err)
			}
			if n := strings.Count(string(src), "step \""); n != 9 {
				t.Errorf("shape %d: %d steps, want 9", shape, n)
			}
			if n := strings.Count(string(src), `"test", "-e"`); n != 1 {
				t.Errorf("shape %d: %d gated steps, want 1", shape, n)
			}
		}
	}
}
