package manager

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// Main is `runbook sim manager [--listen ADDR] [--estate FILE]
// [--generation current|5.0]`: it prints the base URL as the first line on
// stdout and serves until SIGINT or SIGTERM. It returns the exit code (0
// after a signal, 1 when it cannot start, 2 on bad arguments).
func Main(args []string, stdout io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return Run(ctx, args, stdout, os.Stderr)
}

// Run is Main with the lifetime and stderr given: it serves until ctx ends.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("runbook sim manager", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on")
	estatePath := fs.String("estate", "", "JSON estate file (docs/simulators.md)")
	generation := fs.String("generation", "", `answer as "current" (7.x, default) or "5.0" (5.0.5)`)
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "runbook sim manager: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	switch *generation {
	case "", GenerationCurrent, Generation50:
	default:
		fmt.Fprintf(stderr, "runbook sim manager: --generation %q: want %q or %q\n", *generation, GenerationCurrent, Generation50)
		return 2
	}
	est := DefaultEstate()
	if *estatePath != "" {
		e, err := LoadEstate(*estatePath)
		if err != nil {
			fmt.Fprintf(stderr, "runbook sim manager: %v\n", err)
			return 1
		}
		est = e
	}
	srv := New(Options{Estate: est, Generation: *generation})
	url, err := srv.Start(*listen)
	if err != nil {
		fmt.Fprintf(stderr, "runbook sim manager: %v\n", err)
		return 1
	}
	defer srv.Close()
	if _, err := fmt.Fprintln(stdout, url); err != nil {
		return 1
	}
	<-ctx.Done()
	return 0
}
