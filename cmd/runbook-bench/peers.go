package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/runbook-dev/runbook/internal/testgen"
)

// The peers run each shape's steps with their own cheapest step, and the
// same dependencies (testgen.Deps). Their files are written by hand, not
// through a YAML or HCL library: names are s0 to s<n-1>, nothing needs
// quoting, and the tests parse what is written.
var peerPhases = []phase{
	{name: "terraform", tool: "terraform", setup: setupTerraform,
		note: "terraform_data, new local state; plan + apply + state file"},
	{name: "tofu", tool: "tofu", setup: setupTerraform,
		note: "terraform_data, new local state; plan + apply + state file"},
	{name: "ansible", tool: "ansible-playbook", setup: setupAnsible,
		note: "linear: one task at a time, in index order; a process per task"},
	{name: "task", tool: "task", setup: setupTask,
		note: "concurrency unlimited (its default); `true` is a shell builtin, no process"},
	{name: "make", tool: "make", setup: setupMake,
		note: "-j10, a `true` process per target, no state"},
}

// peerDir makes dir/rb for a peer's files, and the job that runs in it.
func peerDir(dir string, argv ...string) (string, *job, error) {
	rb := filepath.Join(dir, "rb")
	j := &job{argv: argv, dir: rb, log: filepath.Join(dir, "out.log")}
	return rb, j, os.MkdirAll(rb, 0o755)
}

// setupTerraform writes terraform_data resources and runs init, which
// needs no network for them (terraform_data is built in since 1.4). Each
// repetition starts from no state, so it creates every resource, as the
// runbook's apply runs every step. The checkpoint (version check) call is
// disabled: it is network, not work.
func setupTerraform(ctx context.Context, b *bench, c cell) (*job, error) {
	rb, j, err := peerDir(c.dir, c.tool, "apply", "-auto-approve", "-input=false", "-no-color",
		"-parallelism="+strconv.Itoa(parallelism))
	if err != nil {
		return nil, err
	}
	j.env = []string{"CHECKPOINT_DISABLE=1", "TF_IN_AUTOMATION=1"}
	if err := writeTerraform(rb, c.sc.deps); err != nil {
		return nil, err
	}
	init := &job{argv: []string{c.tool, "init", "-input=false", "-no-color"}, dir: rb, env: j.env, log: j.log}
	if err := b.mustSucceed(ctx, init); err != nil {
		return nil, fmt.Errorf("init (offline, terraform_data only): %w", err)
	}
	j.reset = func() error {
		for _, f := range []string{"terraform.tfstate", "terraform.tfstate.backup"} {
			if err := os.Remove(filepath.Join(rb, f)); err != nil && !os.IsNotExist(err) {
				return err
			}
		}
		return nil
	}
	return j, nil
}

func setupAnsible(_ context.Context, b *bench, c cell) (*job, error) {
	rb, j, err := peerDir(c.dir, c.tool, "-i", "localhost,", "playbook.yml")
	if err != nil {
		return nil, err
	}
	j.env = []string{"ANSIBLE_NOCOWS=1", "ANSIBLE_RETRY_FILES_ENABLED=0",
		"ANSIBLE_PYTHON_INTERPRETER=auto_silent", "ANSIBLE_LOCALHOST_WARNING=0"}
	return j, writePlaybook(rb, c.sc.name, c.sc.deps)
}

func setupTask(_ context.Context, b *bench, c cell) (*job, error) {
	rb, j, err := peerDir(c.dir, c.tool, "all")
	if err != nil {
		return nil, err
	}
	return j, writeTaskfile(rb, c.sc.deps)
}

func setupMake(_ context.Context, b *bench, c cell) (*job, error) {
	rb, j, err := peerDir(c.dir, c.tool, "-r", "-j"+strconv.Itoa(parallelism), "all")
	if err != nil {
		return nil, err
	}
	return j, writeMakefile(rb, c.sc.deps)
}

// writeTerraform writes main.tf: a terraform_data resource per step.
func writeTerraform(dir string, deps [][]int) error {
	return writeFile(filepath.Join(dir, "main.tf"), func(w *bufio.Writer) {
		for i, d := range deps {
			if len(d) == 0 {
				fmt.Fprintf(w, "resource \"terraform_data\" \"s%d\" {}\n\n", i)
				continue
			}
			fmt.Fprintf(w, "resource \"terraform_data\" \"s%d\" {\n  depends_on = [%s]\n}\n\n", i, refs("terraform_data.s", d))
		}
	})
}

// writePlaybook writes playbook.yml: one play on localhost whose tasks run
// `true` in index order, which respects every dependency (testgen.Deps).
func writePlaybook(dir, name string, deps [][]int) error {
	return writeFile(filepath.Join(dir, "playbook.yml"), func(w *bufio.Writer) {
		fmt.Fprintf(w, "- name: %s\n  hosts: all\n  connection: local\n  gather_facts: false\n  tasks:\n", name)
		for i := range deps {
			fmt.Fprintf(w, "    - name: s%d\n      command: \"true\"\n", i)
		}
	})
}

// writeTaskfile writes Taskfile.yml: a task per step with its deps, and
// "all" depending on the steps nobody waits for. run: once is what makes
// a task shared by several dependents run once, as a step does.
func writeTaskfile(dir string, deps [][]int) error {
	return writeFile(filepath.Join(dir, "Taskfile.yml"), func(w *bufio.Writer) {
		fmt.Fprintf(w, "version: '3'\nrun: once\ntasks:\n  all:\n    deps: [%s]\n", refs("s", testgen.Sinks(deps)))
		for i, d := range deps {
			fmt.Fprintf(w, "  s%d:\n", i)
			if len(d) > 0 {
				fmt.Fprintf(w, "    deps: [%s]\n", refs("s", d))
			}
			fmt.Fprintf(w, "    cmds: [\"true\"]\n")
		}
	})
}

// writeMakefile writes a Makefile of phony targets, so that every run
// runs every recipe; no suffix rules, so make searches for none.
func writeMakefile(dir string, deps [][]int) error {
	return writeFile(filepath.Join(dir, "Makefile"), func(w *bufio.Writer) {
		fmt.Fprintf(w, ".SUFFIXES:\n.PHONY: all\nall: %s\n\n", join("s", " ", testgen.Sinks(deps)))
		for i, d := range deps {
			fmt.Fprintf(w, ".PHONY: s%d\ns%d: %s\n\t@true\n\n", i, i, join("s", " ", d))
		}
	})
}

// refs joins prefix+index for each index, comma-separated.
func refs(prefix string, idx []int) string { return join(prefix, ", ", idx) }

// join joins prefix+index for each index, separated by sep.
func join(prefix, sep string, idx []int) string {
	var b strings.Builder
	for k, j := range idx {
		if k > 0 {
			b.WriteString(sep)
		}
		b.WriteString(prefix)
		b.WriteString(strconv.Itoa(j))
	}
	return b.String()
}

// writeFile creates path and writes it through fill; bufio keeps the
// first write error until Flush.
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
