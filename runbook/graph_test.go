package runbook_test

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/runbook"
)

// load writes files into a temp dir and loads it as a runbook.
func load(t *testing.T, files map[string]string) *dsl.Config {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg, diags := dsl.NewLoader().Load(dir)
	if diags.HasErrors() {
		t.Fatalf("load: %s", diags.Error())
	}
	return cfg
}

func deps(g *runbook.Graph, addr string) string {
	n := g.Node(addr)
	var out []string
	for _, d := range n.Deps {
		out = append(out, g.Nodes[d].Addr)
	}
	return strings.Join(out, ",")
}

func TestGraphDependencies(t *testing.T) {
	cfg := load(t, map[string]string{
		"main.hcl": `
locals { a_out = step.a.stdout }
step "a" {
  action  = core.exec
  command = ["true"]
}
step "b" {
  action  = core.exec
  command = ["echo", local.a_out]
}
step "c" {
  action     = core.exec
  command    = ["true"]
  depends_on = [step.b]
}
step "d" {
  action   = core.exec
  for_each = toset(["x"])
  command  = ["echo", each.key]
  when     = step.c.exit_code == 0
}
step "e" {
  action  = core.exec
  command = ["echo", module.m.out]
}
step "f" {
  action     = core.exec
  command    = ["true"]
  depends_on = [module.m]
}
module "m" {
  source = "./m"
  input  = step.a.stdout
}
finally "z" {
  action  = core.exec
  command = ["echo", step.d["x"].stdout]
}
`,
		"m/main.hcl": `
variable "input" { type = string }
step "inner" {
  action  = core.exec
  command = ["echo", var.input]
}
step "other" {
  action  = core.exec
  command = ["true"]
}
output "out" { value = step.inner.stdout }
`,
	})
	g, diags := runbook.BuildGraph(cfg)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	tests := []struct{ addr, want string }{
		{"step.a", ""},
		{"step.b", "step.a"},              // through a local
		{"step.c", "step.b"},              // depends_on
		{"step.d", "step.c"},              // when
		{"step.e", "module.m.step.inner"}, // a module output, not the whole module
		{"step.f", "module.m.step.inner,module.m.step.other"}, // depends_on a module: every step in it
		{"module.m.step.inner", "step.a"},                     // a module input
		{"module.m.step.other", ""},
		{"step.z", "step.d"},
	}
	for _, tt := range tests {
		t.Run(tt.addr, func(t *testing.T) {
			if got := deps(g, tt.addr); got != tt.want {
				t.Errorf("deps(%s) = %q, want %q", tt.addr, got, tt.want)
			}
		})
	}
	var order []string
	for _, id := range g.Order() {
		order = append(order, g.Nodes[id].Addr)
	}
	if last := order[len(order)-1]; last != "step.z" {
		t.Errorf("finally step not last in %v", order)
	}
}

func TestGraphCycles(t *testing.T) {
	tests := []struct {
		name  string
		src   string
		steps []string // every step the diagnostic must name
	}{
		{"self", `
step "a" {
  action  = core.exec
  command = ["echo", step.a.stdout]
}`, []string{"step.a"}},
		{"three", `
step "a" {
  action     = core.exec
  command    = ["true"]
  depends_on = [step.c]
}
step "b" {
  action  = core.exec
  command = ["echo", step.a.stdout]
}
step "c" {
  action = core.exec
  command = ["true"]
  when    = step.b.exit_code == 0
}
step "free" {
  action  = core.exec
  command = ["true"]
}`, []string{"step.a", "step.b", "step.c"}},
		{"through a local", `
locals { x = step.b.stdout }
step "a" {
  action  = core.exec
  command = ["echo", local.x]
}
step "b" {
  action  = core.exec
  command = ["echo", step.a.stdout]
}`, []string{"step.a", "step.b"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := load(t, map[string]string{"main.hcl": tt.src})
			_, diags := runbook.BuildGraph(cfg)
			if len(diags) != 1 || diags[0].Summary != "Dependency cycle" {
				t.Fatalf("want one cycle diagnostic, got %v", diags)
			}
			for _, s := range tt.steps {
				if !strings.Contains(diags[0].Detail, s+" (") {
					t.Errorf("detail does not name %s with its range: %s", s, diags[0].Detail)
				}
			}
			if strings.Contains(diags[0].Detail, "step.free") {
				t.Errorf("detail names a step outside the cycle: %s", diags[0].Detail)
			}
			if diags[0].Subject == nil || diags[0].Subject.Start.Line == 0 {
				t.Errorf("diagnostic has no source range")
			}
		})
	}
}

// TestGraphLongChain guards the iterative cycle search: a recursive one
// would need a 10,000-frame stack here.
func TestGraphLongChain(t *testing.T) {
	var b strings.Builder
	b.WriteString("step \"s0\" {\n  action = core.exec\n  command = [\"true\"]\n}\n")
	for i := 1; i < 10000; i++ {
		b.WriteString("step \"s" + strconv.Itoa(i) + "\" {\n  action = core.exec\n  command = [\"echo\", step.s" + strconv.Itoa(i-1) + ".stdout]\n}\n")
	}
	cfg := load(t, map[string]string{"main.hcl": b.String()})
	g, diags := runbook.BuildGraph(cfg)
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	if order := g.Order(); len(order) != 10000 || g.Nodes[order[9999]].Addr != "step.s9999" {
		t.Fatalf("bad order of %d nodes", len(order))
	}
}
