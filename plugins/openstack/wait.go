package openstack

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// errWaitTimeout is a wait that ran out of its own time (the action's
// timeout input); the step's timeout and cancellation end the context
// instead.
var errWaitTimeout = errors.New("timed out")

// waitFor reads the cloud every interval until check says done, check
// fails for good, the timeout passes or ctx ends. check reports what it
// saw (state), which the timeout message repeats. Retryable errors
// (5xx, no answer) do not end the wait: a blip of the API during a long
// evacuation must not fail it. The first check is immediate.
func waitFor(ctx context.Context, interval, timeout time.Duration, what string, check func(ctx context.Context) (done bool, state string, err error)) error {
	return waitPaced(ctx, func(n int, _ time.Duration) time.Duration {
		if n == 0 {
			return 0
		}
		return interval
	}, timeout, what, check)
}

// waitPaced is waitFor with the delay before each check chosen by pace,
// from the number of checks made and the time since the wait began.
func waitPaced(ctx context.Context, pace func(n int, elapsed time.Duration) time.Duration, timeout time.Duration, what string, check func(ctx context.Context) (done bool, state string, err error)) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, timeout, errWaitTimeout)
		defer cancel()
	}
	var state string
	var lastErr error
	start := time.Now()
	for n := 0; ; n++ {
		if d := pace(n, time.Since(start)); d > 0 {
			t := time.NewTimer(d)
			select {
			case <-ctx.Done():
				t.Stop()
				return waitEnded(ctx, timeout, what, state, lastErr)
			case <-t.C:
			}
		}
		done, st, err := check(ctx)
		switch {
		case err == nil && done:
			return nil
		case err == nil:
			state, lastErr = st, nil
		case ctx.Err() != nil:
			return waitEnded(ctx, timeout, what, state, lastErr)
		case !isRetryable(err):
			return err
		default:
			lastErr = err
		}
	}
}

func waitEnded(ctx context.Context, timeout time.Duration, what, state string, lastErr error) error {
	msg := what
	if state != "" {
		msg += " (last seen: " + state + ")"
	}
	if lastErr != nil {
		msg += fmt.Sprintf(" (last error: %v)", lastErr)
	}
	if errors.Is(context.Cause(ctx), errWaitTimeout) {
		return fmt.Errorf("%w after %s waiting for %s", errWaitTimeout, timeout, msg)
	}
	return fmt.Errorf("waiting for %s: %w", msg, context.Cause(ctx))
}
