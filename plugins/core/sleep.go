package core

import (
	"context"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
)

func parseSleep(c *call) (d time.Duration, known bool, err error) {
	return c.duration("duration", 0)
}

// planSleep validates the duration; a sleep has no outputs to predict.
func planSleep(_ context.Context, c *call) (cty.Value, error) {
	if _, _, err := parseSleep(c); err != nil {
		return cty.NilVal, err
	}
	return cty.EmptyObjectVal, nil
}

func applySleep(ctx context.Context, c *call) (cty.Value, error) {
	d, _, err := parseSleep(c)
	if err != nil {
		return cty.NilVal, err
	}
	c.log("debug", "sleeping %s", d)
	if err := sleepCtx(ctx, d); err != nil {
		return cty.NilVal, ctxError(ctx, "sleep "+d.String())
	}
	return cty.EmptyObjectVal, nil
}

// checkSleep: an interrupted sleep is done once its duration has passed
// since the attempt started.
// A sleep cut short has no effect to undo: NotApplied runs it again.
func checkSleep(_ context.Context, c *call, started time.Time) (provider.CheckResult, cty.Value, error) {
	d, _, err := parseSleep(c)
	if err != nil {
		return provider.Unknown, cty.NilVal, nil
	}
	if started.IsZero() || time.Since(started) < d {
		return provider.NotApplied, cty.NilVal, nil
	}
	return provider.Applied, cty.EmptyObjectVal, nil
}
