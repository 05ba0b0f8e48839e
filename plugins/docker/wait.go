package docker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/container"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Defaults of container_wait_healthy.
const (
	DefaultWaitTimeout  = 60 * time.Second
	DefaultWaitInterval = time.Second
)

// ContainerWaitIn are container_wait_healthy's inputs.
type ContainerWaitIn struct {
	Container string `cty:"container" runbook:"required" help:"The container's name or ID."`
	Timeout   string `cty:"timeout" help:"How long to wait, such as \"2m\" (default \"60s\"; also the step's timeout)."`
	Interval  string `cty:"interval" help:"How often to inspect the container (default \"1s\")."`
}

func (d *docker) registerWait(p *sdk.Provider) {
	p.Action("container_wait_healthy", sdk.Action[ContainerWaitIn, ContainerOut]{
		Description: "Wait until a container is healthy (running, when it has no healthcheck). An exited or dead container fails at once; a timeout names the last state.",
		Idempotent:  true,
		Apply:       d.waitHealthy,
		Plan: func(_ context.Context, in ContainerWaitIn) (ContainerOut, []string, error) {
			_, _, err := waitTiming(in)
			return ContainerOut{Running: true}, []string{"running"}, err
		},
	})
}

func waitTiming(in ContainerWaitIn) (timeout, interval time.Duration, err error) {
	if timeout, err = parseDuration("timeout", in.Timeout, DefaultWaitTimeout); err != nil {
		return 0, 0, err
	}
	if interval, err = parseDuration("interval", in.Interval, DefaultWaitInterval); err != nil {
		return 0, 0, err
	}
	if timeout <= 0 || interval <= 0 {
		return 0, 0, sdk.AttributeError("timeout", errors.New("timeout and interval must be positive"))
	}
	return timeout, interval, nil
}

// errNotYet is the verdict on a container that may still become ready.
var errNotYet = errors.New("not ready yet")

// waitHealthy inspects the container every interval. Failures to reach the
// daemon are waited out within the timeout (the engine may be restarting);
// the first and last of them are reported.
func (d *docker) waitHealthy(ctx context.Context, in ContainerWaitIn, r sdk.Reporter) (ContainerOut, error) {
	timeout, interval, err := waitTiming(in)
	if err != nil {
		return ContainerOut{}, err
	}
	wctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		last    ContainerOut
		lastErr error
		seen    string
	)
	for {
		out, err := d.inspect(wctx, in.Container)
		switch {
		case err == nil:
			last, lastErr = out, nil
			if v := verdict(out); !errors.Is(v, errNotYet) {
				return out, v
			}
			if s := describeState(out); s != seen {
				seen = s
				r.Log(sdk.LevelInfo, fmt.Sprintf("container %s is %s", in.Container, s))
			}
		case wctx.Err() != nil:
		case !isUnavailable(err):
			return ContainerOut{}, err // not found: not worth waiting for
		default:
			lastErr = err
		}
		if sleep(wctx, interval) != nil {
			if ctx.Err() != nil {
				return ContainerOut{}, fmt.Errorf("waiting for container %q: %w", in.Container, context.Cause(ctx))
			}
			return ContainerOut{}, waitTimeout(in.Container, timeout, last, lastErr)
		}
	}
}

// verdict is nil when the container is ready, errNotYet when it may still
// become so, and a final error when it cannot without someone's help.
func verdict(o ContainerOut) error {
	switch container.ContainerState(o.State) {
	case container.StateExited, container.StateDead:
		msg := fmt.Sprintf("container %q exited with code %d", o.Name, o.ExitCode)
		if o.State == string(container.StateDead) {
			msg = fmt.Sprintf("container %q is dead (exit code %d)", o.Name, o.ExitCode)
		}
		if o.HealthOutput != "" {
			msg += "; last health check: " + o.HealthOutput
		}
		return errors.New(msg)
	case container.StateRunning:
		if o.Health == "" || o.Health == string(container.Healthy) {
			return nil
		}
	}
	return errNotYet
}

func describeState(o ContainerOut) string {
	if o.Health == "" {
		return o.State
	}
	return o.State + ", " + o.Health
}

// waitTimeout names the last state seen, and the last health probe's
// output, which usually says why. It is retryable: a step's retry gives
// a slow container more time.
func waitTimeout(name string, timeout time.Duration, last ContainerOut, lastErr error) error {
	msg := fmt.Sprintf("container %q is not ready after %s", name, timeout)
	switch {
	case lastErr != nil:
		msg += fmt.Sprintf(": the last inspect failed: %v", lastErr)
	case last.State == "":
		msg += ": its state could not be read"
	default:
		msg += ": it is " + describeState(last)
		if last.HealthOutput != "" {
			msg += "; last health check: " + last.HealthOutput
		}
	}
	return sdk.Retryable(errors.New(msg))
}
