package dsl_test

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/core"
)

// FuzzLoadValidate feeds arbitrary bytes to the loader as main.hcl and runs
// everything `runbook validate` and `runbook plan` do before a run: Load,
// Validate, then the static evaluation of every step's inputs and
// meta-arguments, of locals and outputs, and variable resolution. None of it
// may panic or hang, and every error must point into the file.
//
//	go test ./dsl -run '^$' -fuzz FuzzLoadValidate -fuzztime 60s
func FuzzLoadValidate(f *testing.F) {
	addSeeds(f, func(name string) bool { return !strings.HasSuffix(name, ".json") })
	f.Add([]byte(`locals {
  a = [for i in range(3) : format("%03d", i)]
  b = one([length("x")])
  c = sum([1, 2]) + parseint("ff", 16)
  d = alltrue([true, sensitive(true)]) && anytrue([endswith("ab", "b")])
  e = yamldecode("a: [1, 2]")
  f = jsondecode(jsonencode({ k = [1, "x"] }))
  g = try(regex("(a", "a"), cidrsubnet("10.0.0.0/8", 8, 2))
  h = templatefile("main.hcl", { x = 1 })
  i = nonsensitive(sha256(base64encode(local.h)))
}
step "s" {
  for_each = toset(local.a)
  action   = core.exec
  command  = [each.key, local.d ? "y" : "n", "${local.c}"]
  when     = startswith(each.value, "0")
  timeout  = "${local.c}s"
}
output "o" { value = [local.b, local.e, local.f, local.g, local.i, step.s["000"].stdout] }
`))
	f.Fuzz(func(t *testing.T, src []byte) {
		loadValidate(t, "main.hcl", src)
	})
}

// FuzzLoadValidateJSON is FuzzLoadValidate for the JSON syntax
// (main.hcl.json).
func FuzzLoadValidateJSON(f *testing.F) {
	addSeeds(f, func(name string) bool { return strings.HasSuffix(name, ".json") })
	f.Add([]byte(`{"step": {"a": {"action": "core.exec", "command": ["x", "${var.v}"], "when": "${each.key}"}}, "variable": {"v": {}}}`))
	f.Add([]byte(`{"locals": {"a": "${local.b}", "b": "${local.a}"}, "output": {"o": {"value": "${local.a}"}}}`))
	f.Add([]byte(`{"runbook": {"r": {"version": "1.0.0", "rto": "30m", "required_providers": {"x": "~> 1.0"}}}}`))
	f.Fuzz(func(t *testing.T, src []byte) {
		loadValidate(t, "main.hcl.json", src)
	})
}

// addSeeds adds every file of the invalid corpus and every runbook under
// runbooks/ that match keep.
func addSeeds(f *testing.F, keep func(name string) bool) {
	for _, root := range []string{corpusDir, "../runbooks"} {
		_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !keep(p) {
				return nil
			}
			if !strings.HasSuffix(p, ".hcl") && !strings.HasSuffix(p, ".hcl.json") && root == "../runbooks" {
				return nil
			}
			if src, err := os.ReadFile(p); err == nil {
				f.Add(src)
			}
			return nil
		})
	}
}

func loadValidate(t *testing.T, name string, src []byte) {
	// Known defect D9: each self-call of a module (`source = "./"`) doubles
	// the work, so two of them take ~30 s and three never finish. Keep the
	// fuzzer to inputs with at most one module source until it is fixed.
	if bytes.Count(src, []byte("module")) > 1 && bytes.Count(src, []byte("source")) > 1 {
		t.Skip("known defect D9: several self-calling modules load exponentially")
	}
	// file() and templatefile() read whatever they are given (known defect
	// D10: no size limit); keep the fuzzer off device files.
	if bytes.Contains(src, []byte("/dev/")) || bytes.Contains(src, []byte("/proc/")) {
		t.Skip("reads a device file")
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), src, 0o644); err != nil {
		t.Fatal(err)
	}
	var problem string
	within(t, 10*time.Second, func() { problem = exercise(dir) })
	if problem != "" {
		t.Fatal(problem)
	}
}

// exercise loads and validates the runbook in dir and evaluates what it
// can; it returns a description of the first broken invariant, or "".
func exercise(dir string) string {
	loader := dsl.NewLoader()
	cfg, diags := loader.Load(dir)
	if p := checkSubjects(diags); p != "" {
		return p
	}
	if cfg == nil {
		if !diags.HasErrors() {
			return "Load returned no configuration and no error"
		}
		return ""
	}
	schemas := dsl.Schemas{"core": core.Schema()}
	vdiags := dsl.Validate(cfg, schemas)
	if p := checkSubjects(vdiags); p != "" {
		return p
	}

	scope := dsl.StaticScope(cfg, schemas)
	for _, n := range cfg.StepOrder {
		s := cfg.Steps[n]
		var inputs *dsl.BlockSchema
		if ps, ok := schemas.ProviderSchema(s.Action.Provider); ok && ps.Actions[s.Action.Action] != nil {
			inputs = ps.Actions[s.Action.Action].Inputs
		}
		var extra *dsl.Extra
		if s.ForEach != nil {
			extra = &dsl.Extra{Each: &dsl.Each{Key: cty.UnknownVal(cty.String), Value: cty.DynamicVal}}
			if v, d := scope.Eval(s.ForEach, cty.DynamicPseudoType, nil); !d.HasErrors() {
				_, _ = dsl.ForEachItems(v, s.ForEach.Range())
			}
		}
		_, _ = scope.DecodeBody(s.Inputs, s.InputRefs, inputs, extra)
		for _, e := range []hcl.Expression{s.When, s.Timeout, s.Confirm} {
			if e != nil {
				_, _ = scope.Eval(e, cty.DynamicPseudoType, extra)
			}
		}
		if s.Retry != nil {
			for _, e := range []hcl.Expression{s.Retry.Attempts, s.Retry.Delay, s.Retry.Backoff, s.Retry.MaxDelay} {
				if e != nil {
					_, _ = scope.Eval(e, cty.DynamicPseudoType, extra)
				}
			}
		}
		for _, chk := range s.Preconditions {
			_ = scope.EvalCheck(chk, extra, "Precondition failed")
		}
		post := &dsl.Extra{Self: cty.UnknownVal(dsl.StepOutputType(s, schemas))}
		if extra != nil {
			post.Each = extra.Each
		}
		for _, chk := range s.Postconditions {
			_ = scope.EvalCheck(chk, post, "Postcondition failed")
		}
	}
	for _, l := range cfg.Locals {
		_, _ = scope.Eval(l.Expr, cty.DynamicPseudoType, nil)
	}
	for _, o := range cfg.Outputs {
		_, _ = scope.Eval(o.Value, cty.DynamicPseudoType, nil)
	}
	// The CLI resolves variables before planning. Known defect D8 makes
	// ResolveVariables panic on a validation that Validate rejects, so
	// resolve only what validated. Values from the environment and -var
	// have synthetic ranges ("<env:...>"), so only the absence of panics
	// is checked here.
	if !diags.HasErrors() && !vdiags.HasErrors() {
		_, _ = loader.ResolveVariables(cfg, []string{"RUNBOOK_VAR_x=1"}, nil)
	}
	return ""
}

// checkSubjects describes the first error that does not point into a
// file that exists.
func checkSubjects(diags hcl.Diagnostics) string {
	for _, d := range diags {
		if d.Severity != hcl.DiagError {
			continue
		}
		if d.Subject == nil {
			return fmt.Sprintf("error without a source range: %s: %s", d.Summary, d.Detail)
		}
		if st, err := os.Stat(d.Subject.Filename); err != nil || st.IsDir() {
			return fmt.Sprintf("error %q points at %q, which is not a file", d.Summary, d.Subject.Filename)
		}
	}
	return ""
}
