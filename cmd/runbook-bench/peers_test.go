package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"gopkg.in/yaml.v3"

	"github.com/runbook-dev/runbook/internal/testgen"
)

// smallShapes are the three shapes at a size whose dependencies are
// easy to reason about.
func smallShapes(t *testing.T) []shapeCase {
	t.Helper()
	var out []shapeCase
	for _, c := range []struct {
		name  string
		shape testgen.Shape
		n     int
	}{{"fanout", testgen.FanOutIn, 8}, {"chain", testgen.Chain, 5}, {"grid", testgen.Grid, 16}} {
		deps, err := testgen.Deps(c.shape, c.n)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, shapeCase{name: c.name, shape: c.shape, n: c.n, label: c.name, deps: deps})
	}
	return out
}

// TestShapeSizes checks the full-size shapes and the smoke test's.
func TestShapeSizes(t *testing.T) {
	for _, c := range []struct {
		scale float64
		want  map[string]string
	}{
		{1, map[string]string{"fanout": "fan-out/in 10000", "chain": "chain 1000", "grid": "grid 100x100"}},
		{0.01, map[string]string{"fanout": "fan-out/in 100", "chain": "chain 10", "grid": "grid 10x10"}},
	} {
		for name, label := range c.want {
			sc, err := newShape(name, c.scale)
			if err != nil {
				t.Fatal(err)
			}
			if sc.label != label || len(sc.deps) != sc.n {
				t.Errorf("scale %g, %s: %q with %d steps (%d deps), want %q", c.scale, name, sc.label, sc.n, len(sc.deps), label)
			}
		}
	}
}

// TestMakefile checks that make runs every step of the generated
// Makefile once, each after the steps it waits for: -n prints the
// recipes without running them (@ or not), --trace names each target.
func TestMakefile(t *testing.T) {
	makeBin := lookPath(t, "make")
	for _, sc := range smallShapes(t) {
		dir := t.TempDir()
		if err := writeMakefile(dir, sc.deps); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(makeBin, "-n", "-r", "-j1", "--trace", "all")
		cmd.Dir, cmd.Env = dir, cleanEnv()
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: make -n: %v\n%s", sc.label, err, out)
		}
		if got := countLines(string(out), "true"); got != sc.n {
			t.Errorf("%s: make -n runs %d recipes, want %d:\n%s", sc.label, got, sc.n, out)
		}
		checkOrder(t, sc, traceOrder(t, string(out)))
	}
}

func countLines(s, line string) int {
	n := 0
	for l := range strings.Lines(s) {
		if strings.TrimSpace(l) == line {
			n++
		}
	}
	return n
}

// traceOrder is the order of the targets in make's trace: "target 'sN'
// does not exist" for those without prerequisites, "update target 'sN'
// due to: ..." for the others.
func traceOrder(t *testing.T, out string) []int {
	t.Helper()
	var order []int
	for line := range strings.Lines(out) {
		_, rest, ok := strings.Cut(line, "target 's")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, "'")
		i, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("make --trace line %q", line)
		}
		order = append(order, i)
	}
	return order
}

// checkOrder checks that order runs every step once, after its
// dependencies.
func checkOrder(t *testing.T, sc shapeCase, order []int) {
	t.Helper()
	if len(order) != sc.n {
		t.Fatalf("%s: %d steps run, want %d: %v", sc.label, len(order), sc.n, order)
	}
	done := make([]bool, sc.n)
	for _, i := range order {
		for _, d := range sc.deps[i] {
			if !done[d] {
				t.Errorf("%s: s%d runs before s%d, which it waits for", sc.label, i, d)
			}
		}
		done[i] = true
	}
}

// TestTerraform parses main.tf for every resource's depends_on and, when
// Terraform or OpenTofu is on PATH, runs init (offline) and validate.
func TestTerraform(t *testing.T) {
	for _, sc := range smallShapes(t) {
		dir := t.TempDir()
		if err := writeTerraform(dir, sc.deps); err != nil {
			t.Fatal(err)
		}
		src, err := os.ReadFile(filepath.Join(dir, "main.tf"))
		if err != nil {
			t.Fatal(err)
		}
		f, diags := hclsyntax.ParseConfig(src, "main.tf", hcl.InitialPos)
		if diags.HasErrors() {
			t.Fatal(diags)
		}
		var order []int
		for i, block := range f.Body.(*hclsyntax.Body).Blocks {
			if block.Type != "resource" || !slices.Equal(block.Labels, []string{"terraform_data", "s" + strconv.Itoa(i)}) {
				t.Fatalf("%s: block %d is %s %v", sc.label, i, block.Type, block.Labels)
			}
			var deps []int
			if attr, ok := block.Body.Attributes["depends_on"]; ok {
				for _, tr := range attr.Expr.Variables() {
					n, _ := strconv.Atoi(strings.TrimPrefix(tr.SimpleSplit().Rel[0].(hcl.TraverseAttr).Name, "s"))
					deps = append(deps, n)
				}
			}
			if !slices.Equal(deps, sc.deps[i]) {
				t.Errorf("%s: s%d depends on %v, want %v", sc.label, i, deps, sc.deps[i])
			}
			order = append(order, i)
		}
		checkOrder(t, sc, order)
		terraformValidate(t, dir)
	}
}

func terraformValidate(t *testing.T, dir string) {
	t.Helper()
	tool, err := exec.LookPath("tofu")
	if err != nil {
		tool, err = exec.LookPath("terraform")
	}
	if err != nil {
		t.Log("neither tofu nor terraform is on PATH: not validated")
		return
	}
	for _, args := range [][]string{{"init", "-input=false", "-no-color"}, {"validate", "-no-color"}} {
		cmd := exec.Command(tool, args...)
		cmd.Dir, cmd.Env = dir, append(cleanEnv(), "CHECKPOINT_DISABLE=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s %s: %v\n%s", tool, args[0], err, out)
		}
	}
}

// TestPlaybook parses the playbook: one local play without facts whose
// tasks run `true` in index order, which respects every dependency.
func TestPlaybook(t *testing.T) {
	for _, sc := range smallShapes(t) {
		dir := t.TempDir()
		if err := writePlaybook(dir, sc.name, sc.deps); err != nil {
			t.Fatal(err)
		}
		var plays []struct {
			Hosts       string              `yaml:"hosts"`
			Connection  string              `yaml:"connection"`
			GatherFacts *bool               `yaml:"gather_facts"`
			Tasks       []map[string]string `yaml:"tasks"`
		}
		readYAML(t, filepath.Join(dir, "playbook.yml"), &plays)
		if len(plays) != 1 {
			t.Fatalf("%s: %d plays", sc.label, len(plays))
		}
		p := plays[0]
		if p.Hosts != "all" || p.Connection != "local" || p.GatherFacts == nil || *p.GatherFacts {
			t.Errorf("%s: play on %q over %q, gather_facts %v", sc.label, p.Hosts, p.Connection, p.GatherFacts)
		}
		var order []int
		for i, task := range p.Tasks {
			if task["name"] != "s"+strconv.Itoa(i) || task["command"] != "true" {
				t.Errorf("%s: task %d is %v", sc.label, i, task)
			}
			order = append(order, i)
		}
		checkOrder(t, sc, order)
		if ansible, err := exec.LookPath("ansible-playbook"); err == nil && sc.name == "grid" {
			cmd := exec.Command(ansible, "--syntax-check", "-i", "localhost,", "playbook.yml")
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("ansible-playbook --syntax-check: %v\n%s", err, out)
			}
		}
	}
}

// TestTaskfile parses the Taskfile: run once, a task per step with the
// step's dependencies and cmd `true`, and "all" waiting for the steps
// nobody waits for.
func TestTaskfile(t *testing.T) {
	for _, sc := range smallShapes(t) {
		dir := t.TempDir()
		if err := writeTaskfile(dir, sc.deps); err != nil {
			t.Fatal(err)
		}
		var tf struct {
			Version string `yaml:"version"`
			Run     string `yaml:"run"`
			Tasks   map[string]struct {
				Deps []string `yaml:"deps"`
				Cmds []string `yaml:"cmds"`
			} `yaml:"tasks"`
		}
		readYAML(t, filepath.Join(dir, "Taskfile.yml"), &tf)
		if tf.Version != "3" || tf.Run != "once" || len(tf.Tasks) != sc.n+1 {
			t.Fatalf("%s: version %q, run %q, %d tasks", sc.label, tf.Version, tf.Run, len(tf.Tasks))
		}
		if got := taskIndexes(t, tf.Tasks["all"].Deps); !slices.Equal(got, testgen.Sinks(sc.deps)) {
			t.Errorf("%s: all waits for %v, want %v", sc.label, got, testgen.Sinks(sc.deps))
		}
		for i, deps := range sc.deps {
			task := tf.Tasks["s"+strconv.Itoa(i)]
			if got := taskIndexes(t, task.Deps); !slices.Equal(got, deps) || !slices.Equal(task.Cmds, []string{"true"}) {
				t.Errorf("%s: s%d waits for %v and runs %q, want %v and true", sc.label, i, got, task.Cmds, deps)
			}
		}
	}
}

func taskIndexes(t *testing.T, names []string) []int {
	t.Helper()
	var out []int
	for _, n := range names {
		i, err := strconv.Atoi(strings.TrimPrefix(n, "s"))
		if err != nil {
			t.Fatalf("task name %q", n)
		}
		out = append(out, i)
	}
	return out
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s is not on PATH", name)
	}
	return p
}
