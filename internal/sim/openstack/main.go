package openstack

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// Main is `runbook sim openstack [--listen ADDR] [--estate FILE]
// [--evacuate-time L] [--max-microversion 2.X] [--seed N]`: it prints the base
// URL as the first line on stdout (the Keystone auth URL is that plus "/v3")
// and serves until SIGINT or SIGTERM. It returns the exit code (0 after a
// signal, 1 when it cannot start, 2 on bad arguments).
func Main(args []string, stdout io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, args, stdout, os.Stderr)
}

// Run is Main with the lifetime and stderr given: it serves until ctx ends.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("runbook sim openstack", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	estatePath := fs.String("estate", "", "JSON estate file (docs/simulators.md)")
	evacuate := fs.Duration("evacuate-time", 0, "time one server takes to evacuate (default 50ms)")
	maxMV := fs.String("max-microversion", "", "highest Nova microversion served (default 2.95)")
	seed := fs.Uint64("seed", 0, "seed for generated ids and fault draws (default 1)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "runbook sim openstack: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *maxMV != "" {
		v, err := parseMicroversion(*maxMV)
		if err != nil || v.less(minMicroversion) || highestMicroversion.less(v) {
			fmt.Fprintf(stderr, "runbook sim openstack: --max-microversion %q: want 2.1 .. %s\n", *maxMV, highestMicroversion)
			return 2
		}
	}
	if *evacuate < 0 {
		fmt.Fprintf(stderr, "runbook sim openstack: --evacuate-time must not be negative\n")
		return 2
	}
	est := DefaultEstate()
	if *estatePath != "" {
		e, err := LoadEstate(*estatePath)
		if err != nil {
			fmt.Fprintf(stderr, "runbook sim openstack: %v\n", err)
			return 1
		}
		est = e
	}
	srv := New(Options{Estate: est, MaxMicroversion: *maxMV, Seed: *seed, Timing: Timing{Evacuate: time.Duration(*evacuate)}})
	url, err := srv.Start(*listen)
	if err != nil {
		fmt.Fprintf(stderr, "runbook sim openstack: %v\n", err)
		return 1
	}
	defer srv.Close()
	if _, err := fmt.Fprintln(stdout, url); err != nil {
		return 1
	}
	<-ctx.Done()
	return 0
}
