package testgen_test

import (
	"os"
	"path/filepath"
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
