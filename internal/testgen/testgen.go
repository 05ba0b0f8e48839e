// Package testgen writes generated runbooks for benchmarks and scale tests.
// It is test support: only _test.go files and benchmark tools import it.
package testgen

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
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
		f.Close()
		return err
	}
	return f.Close()
}
