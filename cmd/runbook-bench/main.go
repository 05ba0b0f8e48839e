// Command runbook-bench measures runbook as users run it: whole `runbook`
// processes, built from this repository, on generated runbooks of three
// shapes, and, with -peers, the same shapes expressed for the tools found
// on PATH (OpenTofu, Terraform, Ansible, go-task, GNU make).
//
// It lives in one main package, not a library and a thin main: nothing
// else imports it, and its tests (generators, smoke run) test the package
// directly. The shapes themselves come from internal/testgen, which the
// in-repository benchmarks share.
//
// Shapes (-shapes; sizes at -scale 1, which multiplies the step counts):
//
//	fanout  10,000 steps: a root, 9,998 steps that wait for it, and a last step that waits for them all
//	chain   1,000 steps, each waiting for the one before
//	grid    100 x 100 steps: the step in row r, column c waits for columns c-1, c, c+1 of row r-1
//
// Phases (-phases; the default is validate, plan, apply, apply-plugin and
// resume, and with -peers also apply-exec and every peer):
//
//	validate      runbook validate DIR
//	plan          runbook plan DIR
//	apply         runbook apply -auto-approve -parallelism 10 DIR: core.sleep "0s" steps, in-process
//	apply-exec    the same with core.exec of `true`: one process per step, what a shell step costs
//	apply-plugin  the same with test.noop steps of plugins/host/internal/testplugin: a go-plugin process over gRPC
//	resume        runbook resume RUN_ID DIR of a run that failed at its last step, the failure fixed
//	terraform     terraform apply -auto-approve -parallelism=10 of terraform_data resources with depends_on
//	tofu          the same with OpenTofu
//	ansible       ansible-playbook of `command: true` tasks on localhost (connection local), in index order
//	task          go-task of tasks with deps and cmd `true`, default concurrency
//	make          make -r -j10 of phony targets with the shape's prerequisites and recipe @true
//
// Every measurement runs -repeat times (default 3); the table and the
// JSON file (-json, default bench-results.json) give the median wall time
// and the peak resident memory. See docs/benchmarks.md.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"
)

// config is what the flags ask for.
type config struct {
	repeat   int
	scale    float64
	shapes   []string
	phases   []string
	peers    bool
	timeout  time.Duration
	jsonPath string
	workDir  string
	keep     bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run is main without the process: the smoke test calls it. Progress goes
// to stderr, the table to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "runbook-bench:", err)
		return 2
	}
	rep, err := benchmark(ctx, cfg, stderr)
	if err != nil {
		fmt.Fprintln(stderr, "runbook-bench:", err)
		return 1
	}
	printTable(stdout, rep)
	if err := writeJSON(cfg.jsonPath, rep); err != nil {
		fmt.Fprintln(stderr, "runbook-bench:", err)
		return 1
	}
	fmt.Fprintf(stderr, "Wrote %s.\n", cfg.jsonPath)
	if ctx.Err() != nil {
		return 1 // interrupted: the results are partial
	}
	return 0
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	var shapes, phases string
	fs := flag.NewFlagSet("runbook-bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&cfg.repeat, "repeat", 3, "run each measurement `N` times; the table shows the median")
	fs.Float64Var(&cfg.scale, "scale", 1, "multiply every shape's step count (0.01: 100-step fan-out, 10-deep chain, 10x10 grid)")
	fs.StringVar(&shapes, "shapes", strings.Join(shapeNames, ","), "comma-separated shapes to run")
	fs.StringVar(&phases, "phases", "", "comma-separated phases to run (default: runbook's, and with -peers apply-exec and the peers)")
	fs.BoolVar(&cfg.peers, "peers", false, "also run the shapes with the peers found on PATH and the shell-step apply-exec")
	fs.DurationVar(&cfg.timeout, "timeout", 10*time.Minute, "give up on one run of one tool after this `duration`")
	fs.StringVar(&cfg.jsonPath, "json", "bench-results.json", "write the results to this `FILE`")
	fs.StringVar(&cfg.workDir, "workdir", "", "make the generated files and state under this `DIR` (default $TMPDIR; keep it off tmpfs, or fsync is free)")
	fs.BoolVar(&cfg.keep, "keep", false, "keep the generated files and state")
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	if cfg.repeat < 1 || cfg.scale <= 0 || cfg.timeout <= 0 {
		return cfg, errors.New("-repeat, -scale and -timeout must be positive")
	}
	var err error
	if cfg.shapes, err = pickList("shape", shapes, shapeNames); err != nil {
		return cfg, err
	}
	if phases == "" {
		cfg.phases = defaultPhases(cfg.peers)
		return cfg, nil
	}
	cfg.phases, err = pickList("phase", phases, phaseNames())
	return cfg, err
}

// pickList splits a comma-separated flag value and checks every name,
// keeping the order of known (the table's order), not the flag's.
func pickList(what, value string, known []string) ([]string, error) {
	asked := strings.Split(value, ",")
	for _, a := range asked {
		if !slices.Contains(known, strings.TrimSpace(a)) {
			return nil, fmt.Errorf("unknown %s %q (known: %s)", what, a, strings.Join(known, ", "))
		}
	}
	var out []string
	for _, k := range known {
		if slices.ContainsFunc(asked, func(a string) bool { return strings.TrimSpace(a) == k }) {
			out = append(out, k)
		}
	}
	return out, nil
}
