package main

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/runbook-dev/runbook/internal/modules/gittest"
	"github.com/runbook-dev/runbook/internal/testpg"
)

// update rewrites the golden sections of the scripts (the second argument
// of a failing cmp) with what the command printed:
//
//	go test ./cmd/runbook -run TestScripts -update
var update = flag.Bool("update", false, "update the golden files of testdata/script/*.txtar")

// TestMain lets the test binary act as the runbook command: testscript puts
// a copy of it named "runbook" on the scripts' PATH, and running that copy
// calls run as main does. The tests stop testpg's shared PostgreSQL after
// the last one (testscript.Main exits, so testpg.Main cannot).
func TestMain(m *testing.M) {
	testscript.Main(withPostgres{m}, map[string]func(){
		"runbook": func() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) },
	})
}

type withPostgres struct{ m *testing.M }

func (w withPostgres) Run() int { return testpg.Run(w.m) }

// TestScripts runs the end-to-end CLI scripts in testdata/script. Each is a
// txtar archive: a script of commands followed by the files it works on.
// Besides testscript's own commands they may use:
//
//	exitcode N PROG [ARGS...]  run PROG and require exit status N exactly
//	                           (testscript's ! only asserts "not zero");
//	                           stdout and stderr are kept for the next
//	                           stdout/stderr/cmp commands.
//	perm MODE FILE             require FILE's permission bits to be MODE
//	                           (octal, as in 0600).
//	gitrepo REPO commit DIR    commit the files of DIR as the whole tree of
//	                           the bare repository REPO's default branch
//	                           (creating REPO if need be);
//	gitrepo REPO tag [-a] NAME tag its HEAD, lightweight or annotated;
//	gitrepo REPO head VAR      set $VAR to its HEAD commit.
//	expandenv FILE...          replace $NAME (upper case) in the files with
//	                           the variable's value, for what a script
//	                           only knows when it runs ($WORK, a commit).
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 "testdata/script",
		UpdateScripts:       *update,
		RequireUniqueNames:  true,
		RequireExplicitExec: false,
		Cmds:                scriptCmds(),
	})
}

func scriptCmds() map[string]func(ts *testscript.TestScript, neg bool, args []string) {
	return map[string]func(ts *testscript.TestScript, neg bool, args []string){
		"exitcode":  cmdExitCode,
		"perm":      cmdPerm,
		"gitrepo":   cmdGitRepo,
		"expandenv": cmdExpandEnv,
	}
}

// cmdExitCode runs a program in the script's directory and environment (a
// separate process, like testscript's exec, so that RUNBOOK_VAR_* set with
// env and relative paths behave as for a user) and checks its exit status.
func cmdExitCode(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! exitcode")
	}
	if len(args) < 2 {
		ts.Fatalf("usage: exitcode N PROG [ARGS...]")
	}
	want, err := strconv.Atoi(args[0])
	if err != nil || want < 0 {
		ts.Fatalf("exitcode: %q is not an exit status", args[0])
	}
	got := 0
	if err := ts.Exec(args[1], args[2:]...); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			ts.Fatalf("exitcode: %v", err)
		}
		got = ee.ExitCode()
	}
	if got != want {
		ts.Fatalf("%s exited with status %d, want %d", args[1], got, want)
	}
}

// cmdPerm checks the permission bits of a file.
func cmdPerm(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: perm MODE FILE")
	}
	want, err := strconv.ParseUint(args[0], 8, 32)
	if err != nil {
		ts.Fatalf("perm: %q is not an octal mode", args[0])
	}
	info, err := os.Stat(ts.MkAbs(args[1]))
	ts.Check(err)
	got := info.Mode().Perm()
	if (uint64(got) == want) == neg {
		if neg {
			ts.Fatalf("%s has mode %#o", args[1], got)
		}
		ts.Fatalf("%s has mode %#o, want %#o", args[1], got, want)
	}
}

// cmdGitRepo makes the git repositories module scripts fetch from.
func cmdGitRepo(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 3 {
		ts.Fatalf("usage: gitrepo REPO commit DIR | tag [-a] NAME | head VAR")
	}
	repo, err := gittest.Open(ts.MkAbs(args[0]))
	ts.Check(err)
	switch op, rest := args[1], args[2:]; {
	case op == "commit" && len(rest) == 1:
		_, err = repo.Commit(ts.MkAbs(rest[0]), "commit "+rest[0])
	case op == "tag" && len(rest) == 1:
		err = repo.Tag(rest[0], false)
	case op == "tag" && len(rest) == 2 && rest[0] == "-a":
		err = repo.Tag(rest[1], true)
	case op == "head" && len(rest) == 1:
		var head string
		head, err = repo.Head()
		ts.Setenv(rest[0], head)
	default:
		ts.Fatalf("usage: gitrepo REPO commit DIR | tag [-a] NAME | head VAR")
	}
	ts.Check(err)
}

var scriptVar = regexp.MustCompile(`\$[A-Z][A-Z0-9_]*`)

// cmdExpandEnv substitutes upper-case $NAMEs only, so that HCL's
// ${path.module} and the like stay as written.
func cmdExpandEnv(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) == 0 {
		ts.Fatalf("usage: expandenv FILE...")
	}
	for _, name := range args {
		path := ts.MkAbs(name)
		src, err := os.ReadFile(path)
		ts.Check(err)
		out := scriptVar.ReplaceAllFunc(src, func(v []byte) []byte { return []byte(ts.Getenv(string(v[1:]))) })
		ts.Check(os.WriteFile(path, out, 0o644))
	}
}
