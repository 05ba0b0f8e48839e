// Package testgen writes generated runbooks for benchmarks and scale tests.
// It is test support: only _test.go files and benchmark tools import it.
package testgen

import (
	"bufio"
	"fmt"
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

// The shapes WriteNoopRunbook can write.
const (
	FanOutIn Shape = iota // root, then n-2 independent steps, then one step that waits for all
	Chain                 // n steps, each waiting for the one before
	FanOut                // n independent steps
)

// WriteNoopRunbook writes n steps of the given shape to dir/main.hcl. Each
// step runs action (core.sleep with 0s, or core.exec of `true` when exec is
// set), so that a run measures the engine and journal, not the work.
func WriteNoopRunbook(dir string, shape Shape, n int, exec bool) error {
	f, err := os.Create(filepath.Join(dir, "main.hcl"))
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	body := "  action   = core.sleep\n  duration = \"0s\"\n"
	if exec {
		body = "  action  = core.exec\n  command = [\"true\"]\n"
	}
	fmt.Fprintf(w, "runbook \"noop\" {\n  version = \"1.0.0\"\n}\n\n")
	for i := 0; i < n; i++ {
		fmt.Fprintf(w, "step \"s%d\" {\n%s", i, body)
		switch {
		case shape == Chain && i > 0:
			fmt.Fprintf(w, "  depends_on = [step.s%d]\n", i-1)
		case shape == FanOutIn && i > 0 && i < n-1:
			fmt.Fprintf(w, "  depends_on = [step.s0]\n")
		case shape == FanOutIn && i == n-1 && n > 1:
			fmt.Fprintf(w, "  depends_on = [")
			for j := 1; j < n-1; j++ {
				fmt.Fprintf(w, "step.s%d, ", j)
			}
			fmt.Fprintf(w, "]\n")
		}
		fmt.Fprintf(w, "}\n\n")
	}
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
