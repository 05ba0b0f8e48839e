// Package testgen writes generated runbooks for benchmarks and scale tests.
// It is test support: only _test.go files and benchmark tools import it.
package testgen

import (
	"bufio"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
)

// WriteLargeRunbook writes a runbook of about n core steps to dir/main.hcl
// with the shapes real DR runbooks have: a root step, fan-out groups that
// depend on it, chains that pass outputs from step to step, and fan-in
// steps that read every member of a group.
func WriteLargeRunbook(dir string, n int) error {
	f, err := os.Create(filepath.Join(dir, "main.hcl"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "runbook \"large\" {\n  version = \"1.0.0\"\n  rto     = \"24h\"\n}\n\n")
	fmt.Fprintf(w, "variable \"target\" {\n  type    = string\n  default = \"site-b\"\n}\n\n")
	fmt.Fprintf(w, "locals {\n  prefix = \"dr-${var.target}\"\n}\n\n")
	fmt.Fprintf(w, "step \"root\" {\n  action  = core.exec\n  command = [\"true\"]\n  timeout = \"10s\"\n}\n\n")
	const group = 50 // steps per group: 40 fan-out members, a 9-step chain, 1 fan-in
	written := 1
	for g := 0; written < n; g++ {
		for i := 0; i < 40 && written < n; i++ {
			fmt.Fprintf(w, "step \"g%d_fan%d\" {\n  action  = core.exec\n  command = [\"echo\", local.prefix, \"%d\"]\n  depends_on = [step.root]\n  timeout = \"5s\"\n}\n\n", g, i, i)
			written++
		}
		prev := fmt.Sprintf("g%d_fan0", g)
		for i := 0; i < group-41 && written < n; i++ {
			name := fmt.Sprintf("g%d_chain%d", g, i)
			fmt.Fprintf(w, "step %q {\n  action  = core.exec\n  command = [\"echo\", step.%s.stdout]\n  timeout = \"5s\"\n  retry {\n    attempts = 2\n  }\n}\n\n", name, prev)
			prev = name
			written++
		}
		if written < n {
			fmt.Fprintf(w, "step \"g%d_join\" {\n  action  = core.exec\n  command = concat([\"echo\"], [", g)
			for i := 0; i < 40; i++ {
				fmt.Fprintf(w, "step.g%d_fan%d.stdout, ", g, i)
			}
			fmt.Fprintf(w, "step.%s.stdout])\n}\n\n", prev)
			written++
		}
	}
	fmt.Fprintf(w, "finally \"report\" {\n  action  = core.exec\n  command = [\"echo\", \"done\"]\n}\n\n")
	fmt.Fprintf(w, "output \"root\" {\n  value = step.root.stdout\n}\n")
	if err := w.Flush(); err != nil {
		_ = f.Close() // the write error is the one to report
		return err
	}
	return f.Close()
}

// Shape is the dependency structure of a generated no-op runbook.
type Shape int

// The shapes WriteNoopRunbook and WriteShapeRunbook can write. New shapes
// go at the end, so that the existing ones keep their values.
const (
	FanOutIn Shape = iota // root, then n-2 independent steps, then one step that waits for all
	Chain                 // n steps, each waiting for the one before
	FanOut                // n independent steps
	// Grid is k rows of k steps (n = k*k, a perfect square), numbered row
	// by row: the step in row r, column c waits for the steps in columns
	// c-1, c and c+1 of row r-1 that exist. Row 0 starts at once; the k
	// steps of the last row end the run.
	Grid
)

// Deps returns, for each of the n steps of shape (s0 to s<n-1>), the
// indexes of the steps it waits for. Every dependency is lower than the
// step's own index, so index order is a valid sequential order: the one a
// linear runner (Ansible) follows. Fan-out members share one slice.
func Deps(shape Shape, n int) ([][]int, error) {
	if n < 0 {
		return nil, fmt.Errorf("testgen: %d steps", n)
	}
	deps := make([][]int, n)
	switch shape {
	case FanOut:
	case Chain:
		for i := 1; i < n; i++ {
			deps[i] = []int{i - 1}
		}
	case FanOutIn:
		fanOutIn(deps)
	case Grid:
		k := GridSide(n)
		if k*k != n {
			return nil, fmt.Errorf("testgen: a grid needs a square number of steps, not %d", n)
		}
		grid(deps, k)
	default:
		return nil, fmt.Errorf("testgen: unknown shape %d", shape)
	}
	return deps, nil
}

// fanOutIn makes every step but the first and last wait for the first,
// and the last wait for all of those. With n = 2 the two steps are
// independent, as WriteNoopRunbook always wrote them.
func fanOutIn(deps [][]int) {
	n := len(deps)
	if n < 2 {
		return
	}
	root := []int{0}
	sink := make([]int, 0, n-2)
	for i := 1; i < n-1; i++ {
		deps[i] = root
		sink = append(sink, i)
	}
	deps[n-1] = sink
}

// grid fills deps for a k x k Grid.
func grid(deps [][]int, k int) {
	for r := 1; r < k; r++ {
		above := (r - 1) * k
		for c := 0; c < k; c++ {
			d := make([]int, 0, 3)
			for cc := max(0, c-1); cc <= min(k-1, c+1); cc++ {
				d = append(d, above+cc)
			}
			deps[r*k+c] = d
		}
	}
}

// GridSide is the side of the largest square grid within n steps.
func GridSide(n int) int {
	k := int(math.Sqrt(float64(n)))
	for k*k > n {
		k--
	}
	for (k+1)*(k+1) <= n {
		k++
	}
	return k
}

// Sinks returns the steps no other step waits for, in index order: a
// runner that needs one goal (make all, task all) waits for these.
func Sinks(deps [][]int) []int {
	waited := make([]bool, len(deps))
	for _, d := range deps {
		for _, j := range d {
			waited[j] = true
		}
	}
	var out []int
	for i, w := range waited {
		if !w {
			out = append(out, i)
		}
	}
	return out
}

// Action is what the steps of a generated runbook run.
type Action int

// The actions WriteShapeRunbook can give its steps.
const (
	// Sleep0 is core.sleep of "0s": in-process and no work, so a run
	// measures the engine and the journal alone.
	Sleep0 Action = iota
	// ExecTrue is core.exec of `true`: one process per step, what a
	// shell step costs at least.
	ExecTrue
	// PluginNoop is the action noop of the provider plugin PluginName
	// (plugins/host/internal/testplugin): one gRPC round trip per step to
	// a plugin process. The runbook requires the plugin at version >= 0.1.0,
	// the test plugin's default.
	PluginNoop
)

// PluginName is the provider name PluginNoop steps use: the plugin binary
// must be installed as runbook-provider-test.
const PluginName = "test"

// Options says what the steps of a generated runbook run.
type Options struct {
	Action Action
	// Gate, when set, makes the last step run core.exec of `test -e Gate`
	// instead: an apply fails at that step while the file does not exist,
	// and once it does, resuming the failed run has that step left to run
	// (every shape's last step is one nobody waits for).
	Gate string
}

// WriteNoopRunbook writes n steps of the given shape to dir/main.hcl. Each
// step runs action (core.sleep with 0s, or core.exec of `true` when exec is
// set), so that a run measures the engine and journal, not the work.
func WriteNoopRunbook(dir string, shape Shape, n int, exec bool) error {
	opts := Options{Action: Sleep0}
	if exec {
		opts.Action = ExecTrue
	}
	return WriteShapeRunbook(dir, shape, n, opts)
}

// WriteShapeRunbook writes the n steps of shape, named s0 to s<n-1> and
// waiting for each other as Deps says, to dir/main.hcl.
func WriteShapeRunbook(dir string, shape Shape, n int, opts Options) error {
	deps, err := Deps(shape, n)
	if err != nil {
		return err
	}
	return writeFile(filepath.Join(dir, "main.hcl"), func(w *bufio.Writer) {
		writeHeader(w, opts.Action)
		for i, d := range deps {
			body := actionBody(opts.Action)
			if opts.Gate != "" && i == n-1 {
				body = fmt.Sprintf("  action  = core.exec\n  command = [\"test\", \"-e\", %s]\n", hclString(opts.Gate))
			}
			fmt.Fprintf(w, "step \"s%d\" {\n%s", i, body)
			if len(d) > 0 {
				fmt.Fprint(w, "  depends_on = [")
				for k, j := range d {
					if k > 0 {
						fmt.Fprint(w, ", ")
					}
					fmt.Fprintf(w, "step.s%d", j)
				}
				fmt.Fprint(w, "]\n")
			}
			fmt.Fprint(w, "}\n\n")
		}
	})
}

func writeHeader(w *bufio.Writer, a Action) {
	if a != PluginNoop {
		fmt.Fprint(w, "runbook \"noop\" {\n  version = \"1.0.0\"\n}\n\n")
		return
	}
	fmt.Fprintf(w, "runbook \"noop\" {\n  version = \"1.0.0\"\n  required_providers {\n    %s = \">= 0.1.0\"\n  }\n}\n\n", PluginName)
}

func actionBody(a Action) string {
	switch a {
	case ExecTrue:
		return "  action  = core.exec\n  command = [\"true\"]\n"
	case PluginNoop:
		return "  action = " + PluginName + ".noop\n"
	}
	return "  action   = core.sleep\n  duration = \"0s\"\n"
}

// writeFile creates path and writes it through fill, reporting the first
// write error (bufio keeps it until Flush).
func writeFile(path string, fill func(w *bufio.Writer)) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fill(w)
	if err := w.Flush(); err != nil {
		_ = f.Close() // the write error is the one to report
		return err
	}
	return f.Close()
}

// WriteGatedRunbook writes n steps to dir/main.hcl: n-1 independent no-op
// steps (core.sleep of 0s) and a last step, s<n-1>, that depends on all of
// them and runs core.exec of `test -e gate`. An apply fails at that last
// step while the file gate does not exist; once it does, resuming the
// failed run has exactly one step left to run.
func WriteGatedRunbook(dir string, n int, gate string) error {
	f, err := os.Create(filepath.Join(dir, "main.hcl"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "runbook \"gated\" {\n  version = \"1.0.0\"\n}\n\n")
	for i := 0; i < n-1; i++ {
		fmt.Fprintf(w, "step \"s%d\" {\n  action   = core.sleep\n  duration = \"0s\"\n}\n\n", i)
	}
	if n > 0 {
		fmt.Fprintf(w, "step \"s%d\" {\n  action  = core.exec\n  command = [\"test\", \"-e\", %s]\n  depends_on = [", n-1, hclString(gate))
		for i := 0; i < n-1; i++ {
			fmt.Fprintf(w, "step.s%d, ", i)
		}
		fmt.Fprintf(w, "]\n}\n")
	}
	if err := w.Flush(); err != nil {
		_ = f.Close() // the write error is the one to report
		return err
	}
	return f.Close()
}

// hclString quotes s as an HCL string literal, doubling the $ and % that
// would start a template ("${", "%{").
func hclString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i, r := range s {
		next := byte(0)
		if i+1 < len(s) {
			next = s[i+1]
		}
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\u%04x`, r)
		case (r == '$' || r == '%') && next == '{':
			b.WriteRune(r)
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}
