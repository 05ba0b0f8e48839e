package core

import (
	"context"
	"net/url"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
)

// defaultWaitInterval is the time between polls when interval is unset.
const defaultWaitInterval = 5 * time.Second

// checkProbeTimeout bounds the single probe Check makes.
const checkProbeTimeout = 30 * time.Second

type waitArgs struct {
	command  []string
	url      *url.URL
	interval time.Duration
	timeout  time.Duration // 0: none (ctx bounds the wait)
	insecure bool
	caFile   string
}

// parseWait validates core.wait's inputs; unknown inputs are skipped, but
// an unknown command or url still counts as set.
func parseWait(c *call) (*waitArgs, error) {
	a := &waitArgs{insecure: c.boolean("insecure")}
	a.caFile, _ = c.str("ca_file")
	// An unknown input (plan time) may turn out null or not: only known
	// values decide.
	hasCmd, hasURL := c.isKnownSet("command"), c.isKnownSet("url")
	switch {
	case hasCmd && hasURL:
		return nil, attrErr(cty.GetAttrPath("url"), "wait takes either command or url, not both")
	case !hasCmd && !hasURL && c.known("command") && c.known("url"):
		return nil, attrErr(nil, "wait needs either command (a command that must exit 0) or url (a URL that must answer 2xx)")
	}
	var err error
	var ok bool
	if a.command, ok, err = c.strList("command"); err != nil {
		return nil, err
	} else if ok {
		if err := validateArgv(a.command, "command"); err != nil {
			return nil, err
		}
	}
	if raw, ok := c.str("url"); ok {
		if a.url, err = parseHTTPURL(raw, "url"); err != nil {
			return nil, err
		}
	}
	if a.interval, _, err = c.duration("interval", defaultWaitInterval); err != nil {
		return nil, err
	}
	if c.known("interval") && a.interval <= 0 {
		return nil, attrErr(cty.GetAttrPath("interval"), "interval must be positive")
	}
	if a.timeout, _, err = c.duration("timeout", 0); err != nil {
		return nil, err
	}
	if c.isKnownSet("timeout") && a.timeout <= 0 {
		return nil, attrErr(cty.GetAttrPath("timeout"), "timeout must be positive; leave it unset to wait as long as the step allows")
	}
	return a, nil
}

func planWait(_ context.Context, c *call) (cty.Value, error) {
	if _, err := parseWait(c); err != nil {
		return cty.NilVal, err
	}
	return unknownOutputs(c), nil
}

// prober makes one attempt of a wait. It returns "" on success, a
// description of the failure otherwise, or an error that ends the wait
// (a program that does not exist, or ctx ending).
type prober func(ctx context.Context) (failure string, err error)

func (a *waitArgs) prober(c *call) (prober, func(), error) {
	if a.url != nil {
		client, err := newHTTPClient(a.insecure, a.caFile)
		if err != nil {
			return nil, nil, err
		}
		return func(ctx context.Context) (string, error) {
			f := probeURL(ctx, client, a.url)
			if f != "" && ctx.Err() != nil {
				return "", ctxError(ctx, "GET "+a.url.Redacted())
			}
			return f, nil
		}, client.CloseIdleConnections, nil
	}
	spec := &cmdSpec{argv: a.command, quiet: true}
	return func(ctx context.Context) (string, error) {
		res, err := runCommand(ctx, c, spec)
		if err != nil {
			return "", err
		}
		if res.exitCode == 0 {
			return "", nil
		}
		return spec.failure(res, c.red), nil
	}, func() {}, nil
}

func applyWait(ctx context.Context, c *call) (cty.Value, error) {
	a, err := parseWait(c)
	if err != nil {
		return cty.NilVal, err
	}
	probe, done, err := a.prober(c)
	if err != nil {
		return cty.NilVal, err
	}
	defer done()

	start := time.Now()
	wctx := ctx
	if a.timeout > 0 {
		var cancel context.CancelFunc
		wctx, cancel = context.WithTimeout(ctx, a.timeout)
		defer cancel()
	}
	target := "url " + c.red.Redact(urlString(a.url))
	if a.url == nil {
		target = (&cmdSpec{argv: a.command}).describe(c.red)
	}
	c.log("debug", "waiting for %s (every %s)", target, a.interval)
	last := ""
	for attempt := 1; ; attempt++ {
		failure, err := probe(wctx)
		if err != nil && (ctx.Err() != nil || wctx.Err() == nil) {
			return cty.NilVal, err // cancelled, or a failure no wait will cure
		}
		if err == nil && failure == "" {
			elapsed := time.Since(start).Round(time.Millisecond)
			c.log("debug", "%s succeeded after %d attempt(s), %s", target, attempt, elapsed)
			return cty.ObjectVal(map[string]cty.Value{
				"attempts": cty.NumberIntVal(int64(attempt)),
				"elapsed":  cty.StringVal(elapsed.String()),
			}), nil
		}
		if err == nil {
			last = failure
			c.log("debug", "attempt %d: %s", attempt, failure)
		} else {
			attempt-- // cut short by the timeout: not a completed attempt
		}
		if wctx.Err() == nil {
			_ = sleepCtx(wctx, a.interval)
		}
		if ctx.Err() != nil {
			return cty.NilVal, ctxError(ctx, "waiting for "+target)
		}
		if wctx.Err() != nil {
			if last == "" {
				last = "the first attempt had not finished"
			}
			return cty.NilVal, provider.RetryableErrorf("timed out after %s waiting for %s (%d attempt(s)); last failure: %s",
				a.timeout, target, attempt, last)
		}
	}
}

// checkWait: a wait has no effect of its own, so it either held (Applied)
// or is run again (NotApplied). For a URL, one GET (which has no side
// effects) tells whether it holds now; a command is not run here (it
// might have effects), the wait is simply run again.
func checkWait(ctx context.Context, c *call, _ time.Time) (provider.CheckResult, cty.Value, error) {
	a, err := parseWait(c)
	if err != nil {
		return provider.Unknown, cty.NilVal, nil
	}
	if a.url == nil {
		return provider.NotApplied, cty.NilVal, nil
	}
	client, err := newHTTPClient(a.insecure, a.caFile)
	if err != nil {
		return provider.NotApplied, cty.NilVal, nil
	}
	defer client.CloseIdleConnections()
	pctx, cancel := context.WithTimeout(ctx, checkProbeTimeout)
	defer cancel()
	if probeURL(pctx, client, a.url) != "" {
		if ctx.Err() != nil {
			return provider.Unknown, cty.NilVal, ctxError(ctx, "checking "+a.url.Redacted())
		}
		return provider.NotApplied, cty.NilVal, nil
	}
	return provider.Applied, cty.ObjectVal(map[string]cty.Value{
		"attempts": cty.NumberIntVal(1),
		"elapsed":  cty.StringVal("0s"),
	}), nil
}

func urlString(u *url.URL) string {
	if u == nil {
		return ""
	}
	return u.Redacted()
}
