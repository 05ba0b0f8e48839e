package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/state/postgres"
)

type unlockOptions struct {
	force bool
	// in is where the answer is read, tty whether it is a terminal: tests
	// answer through a buffer.
	in  io.Reader
	tty bool
}

func newForceUnlockCommand(s *streams) *cobra.Command {
	o := &unlockOptions{in: os.Stdin, tty: term.IsTerminal(int(os.Stdin.Fd()))}
	cmd := &cobra.Command{
		Use:   "force-unlock LOCK_ID",
		Short: "Free the state lock of a run whose process is gone (postgres backend)",
		Long: "Force-unlock frees the workspace lock with this ID, the one a refused apply printed, when its holder " +
			"cannot: a machine that died with its connection to PostgreSQL half-open keeps the lock until TCP gives " +
			"up on it, maybe hours later. It ends the holder's PostgreSQL session; if the holder was in fact alive, its " +
			"next journal write fails and it stops. Resume the run afterwards. It asks first, on a terminal; -force " +
			"skips the question. The state is found as `runbook runs` finds it. The local backend's lock needs no " +
			"unlocking: the kernel frees it when the holding process ends.",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error { return o.run(s, args[0]) },
	}
	cmd.Flags().BoolVar(&o.force, "force", false, "do not ask for confirmation")
	return cmd
}

func (o *unlockOptions) run(s *streams, lockID string) error {
	sc, err := stateForCommand(newSession(s), "")
	if err != nil {
		return err
	}
	if sc.kind == dsl.BackendLocal {
		return fmt.Errorf("the local backend (state dir %s) has nothing to unlock: its lock is held by the running "+
			"runbook process and freed by the kernel when that process ends, however it ends. If an apply is refused, "+
			"the run it names is still running: wait for it, or stop that process", sc.dir)
	}
	ctx := context.Background()
	b, err := postgres.New(ctx, sc.pg)
	if err != nil {
		return err
	}
	defer func() { _ = b.Close() }()
	if err := o.confirm(ctx, s, b, lockID); err != nil {
		return err
	}
	if err := b.ForceUnlock(ctx, lockID); err != nil {
		return err
	}
	fmt.Fprintf(s.out, "Lock %s of %s is free.\n", lockID, b)
	return nil
}

// confirm asks on a terminal, naming the holder, unless -force; without a
// terminal it refuses, as Terraform does. A lock ID that is not the
// current one is left to ForceUnlock to report.
func (o *unlockOptions) confirm(ctx context.Context, s *streams, b *postgres.Backend, lockID string) error {
	if o.force {
		return nil
	}
	if !o.tty {
		return errors.New("force-unlock asks for confirmation and there is no terminal to ask on; pass -force to unlock anyway")
	}
	h, err := b.Holder(ctx)
	if err != nil || h == nil || h.ID != lockID {
		return err
	}
	fmt.Fprintf(s.err, "Lock %s is held by run %s (host %s, user %s, pid %d, since %s).\n"+
		"If that run is still going, unlocking makes its next journal write fail and it stops; resume it afterwards.\n"+
		"Force-unlock %s? [y/N] ", h.ID, h.RunID, h.Host, h.User, h.PID, h.Started.Format(time.RFC3339), b)
	if !yes(o.in) {
		return errors.New("force-unlock cancelled: the lock is still held")
	}
	return nil
}

func yes(r io.Reader) bool {
	line, _ := bufio.NewReader(r).ReadString('\n')
	answer := strings.ToLower(strings.TrimSpace(line))
	return answer == "y" || answer == "yes"
}
