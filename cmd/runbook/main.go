// Command runbook plans and runs disaster-recovery runbooks written in HCL.
//
// This package is the command line only: it parses arguments, calls the
// language (dsl/) and the engine (runbook/), and renders through
// internal/ui. Exit codes: 0 success, 1 error, 2 `plan -detailed-exitcode`
// found steps to run, 3 `fmt -check` found files to rewrite.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

func main() {
	tuneGC()
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// tuneGC trades memory for speed the way a short-lived compiler does: the
// collector runs a quarter as often, but never lets the heap pass 192 MiB.
// Planning a 10,000-step runbook allocates mostly short-lived parser
// tokens, so the default setting spends a third of the run collecting.
// GOGC and GOMEMLIMIT in the environment still win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(400)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(192 << 20)
	}
}

// exitCode is an error that carries the process exit status; its message,
// if any, has already been printed.
type exitCode int

func (e exitCode) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// run executes one command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	root := newRootCommand(stdout, stderr)
	root.SetArgs(normalizeArgs(args))
	err := root.Execute()
	var code exitCode
	switch {
	case err == nil:
		return 0
	case errors.As(err, &code):
		return int(code)
	}
	fmt.Fprintf(stderr, "Error: %s\n", err)
	return 1
}
