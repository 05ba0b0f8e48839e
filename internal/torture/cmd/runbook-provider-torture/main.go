// Command runbook-provider-torture is the provider plugin of the torture
// tests (package torture): a real go-plugin process, served by the SDK,
// whose actions leave a line in a ledger file each time their Apply runs,
// so that a test can count executions across SIGKILLs of the host.
//
// Actions:
//
//   - record (idempotent): sleeps half of sleep, appends line to ledger,
//     sleeps the other half. A kill can land before or after the line.
//   - record_once (not idempotent): the same, with a Check that looks for
//     line in the ledger. Since the line is written by one O_APPEND write,
//     the Check is exact, and the line must appear exactly once however
//     often the host dies.
//   - hold: on its first call for a marker (the file does not exist), it
//     writes its pid to marker and blocks until cancelled, so a test can
//     kill the plugin process under it; later calls append line and
//     return at once.
//
// Every action returns the plugin's pid, so a test can tell processes
// apart, and payload: payload_bytes bytes of 'x', to make journal records
// as large as a test needs.
package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// RecordIn are the inputs of record and record_once.
type RecordIn struct {
	Ledger       string `cty:"ledger" runbook:"required" help:"File the line is appended to."`
	Line         string `cty:"line" runbook:"required" help:"The line, without its newline."`
	Sleep        string `cty:"sleep" help:"How long Apply takes, as a Go duration; the line is written half-way."`
	PayloadBytes int    `cty:"payload_bytes" help:"Size of the payload output."`
}

// HoldIn are the inputs of hold.
type HoldIn struct {
	Ledger string `cty:"ledger" runbook:"required" help:"File the line is appended to, once past the hold."`
	Line   string `cty:"line" runbook:"required" help:"The line, without its newline."`
	Marker string `cty:"marker" runbook:"required" help:"Written with the pid by the call that holds; its presence lets later calls through."`
}

// Out are every action's outputs.
type Out struct {
	PID     int    `cty:"pid"`
	Payload string `cty:"payload"`
}

func main() {
	p := &sdk.Provider{Name: "torture", Version: "0.1.0"}
	p.Action("record", sdk.Action[RecordIn, Out]{
		Description: "Appends a line to a ledger, half-way through a sleep.",
		Mutating:    true, Idempotent: true,
		Apply: record,
	})
	p.Action("record_once", sdk.Action[RecordIn, Out]{
		Description: "Appends a line to a ledger, half-way through a sleep; Check finds the line.",
		Mutating:    true,
		Apply:       record,
		Check: func(_ context.Context, in RecordIn, _ time.Time) (sdk.CheckResult, Out, error) {
			found, err := hasLine(in.Ledger, in.Line)
			switch {
			case err != nil:
				return sdk.Unknown, Out{}, err
			case found:
				return sdk.Applied, out(in.PayloadBytes), nil
			}
			return sdk.NotApplied, Out{}, nil
		},
	})
	p.Action("hold", sdk.Action[HoldIn, Out]{
		Description: "Blocks until cancelled on its first call for a marker; appends a line on the next ones.",
		Mutating:    true, Idempotent: true,
		Apply: func(ctx context.Context, in HoldIn, r sdk.Reporter) (Out, error) {
			if _, err := os.Stat(in.Marker); os.IsNotExist(err) {
				if err := os.WriteFile(in.Marker, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
					return Out{}, err
				}
				r.Log(sdk.LevelInfo, "holding until killed or cancelled")
				<-ctx.Done()
				return Out{}, ctx.Err()
			}
			if err := appendLine(in.Ledger, in.Line); err != nil {
				return Out{}, err
			}
			return out(0), nil
		},
	})
	sdk.Serve(p)
}

func record(ctx context.Context, in RecordIn, _ sdk.Reporter) (Out, error) {
	var d time.Duration
	if in.Sleep != "" {
		var err error
		if d, err = time.ParseDuration(in.Sleep); err != nil {
			return Out{}, sdk.AttributeError("sleep", err)
		}
	}
	if err := sleep(ctx, d/2); err != nil {
		return Out{}, err
	}
	if err := appendLine(in.Ledger, in.Line); err != nil {
		return Out{}, err
	}
	if err := sleep(ctx, d-d/2); err != nil {
		return Out{}, err
	}
	return out(in.PayloadBytes), nil
}

func out(payload int) Out {
	return Out{PID: os.Getpid(), Payload: strings.Repeat("x", payload)}
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// appendLine writes the line with one write(2) on an O_APPEND file, so
// concurrent writers never interleave and a kill never leaves half a line.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("ledger %s: %w", path, err)
	}
	return nil
}

func hasLine(path, line string) (bool, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sc.Text() == line {
			return true, nil
		}
	}
	return false, sc.Err()
}
