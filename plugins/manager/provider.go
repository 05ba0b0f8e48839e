package manager

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/plugins/manager/client"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Version is the provider's version, checked against a runbook's
// required_providers.
const Version = "0.1.0"

// DefaultPollInterval is how often waits poll the manager unless the
// provider block's poll_interval says otherwise.
const DefaultPollInterval = 2 * time.Second

// Config is the provider "manager" block.
type Config struct {
	Endpoint     string `cty:"endpoint" runbook:"required" help:"The manager's base URL, https://HOST or http://HOST[:PORT]; /api/v3.1 is appended."`
	Username     string `cty:"username" help:"User for HTTP basic auth."`
	Password     string `cty:"password" runbook:"sensitive" help:"Password of username."`
	Token        string `cty:"token" runbook:"sensitive" help:"API token (Authentication-Token header); used instead of username and password when set."`
	Tenant       string `cty:"tenant" help:"Tenant sent in the Tenant header; default_tenant when unset."`
	CAFile       string `cty:"ca_file" help:"PEM bundle that verifies the manager's certificate instead of the system roots."`
	Insecure     bool   `cty:"insecure" help:"Skip TLS verification (drills against a simulator only)."`
	PollInterval string `cty:"poll_interval" help:"How often waits poll the manager, a duration such as \"2s\" (the default)."`
}

// mgr is what the actions share: the client built by Configure.
type mgr struct {
	mu   sync.RWMutex
	c    *client.Client
	poll time.Duration
}

// New returns the manager provider, unconfigured. Each call returns a new
// instance: the engine configures one per provider block.
func New() *sdk.Provider {
	m := &mgr{poll: DefaultPollInterval}
	p := &sdk.Provider{Name: "manager", Version: Version, Config: sdk.ConfigOf(m.configure)}
	m.registerSnapshots(p)
	m.registerRestore(p)
	m.registerMaintenance(p)
	m.registerExecutions(p)
	m.registerStatus(p)
	return p
}

func (m *mgr) configure(_ context.Context, cfg Config) error {
	poll := DefaultPollInterval
	if cfg.PollInterval != "" {
		d, err := time.ParseDuration(cfg.PollInterval)
		if err != nil || d <= 0 {
			return sdk.AttributeError("poll_interval", fmt.Errorf("poll_interval %q is not a positive duration such as \"2s\"", cfg.PollInterval))
		}
		poll = d
	}
	c, err := client.New(client.Config{
		Endpoint: cfg.Endpoint, Username: cfg.Username, Password: cfg.Password, Token: cfg.Token,
		Tenant: cfg.Tenant, CAFile: cfg.CAFile, Insecure: cfg.Insecure,
	})
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), "manager client: ")
		switch {
		case strings.Contains(msg, "endpoint"):
			return sdk.AttributeError("endpoint", errors.New(msg))
		case strings.Contains(msg, "ca_file"):
			return sdk.AttributeError("ca_file", errors.New(msg))
		case strings.Contains(msg, "username"):
			return sdk.AttributeError("username", errors.New(msg))
		}
		return errors.New(msg)
	}
	m.mu.Lock()
	m.c, m.poll = c, poll
	m.mu.Unlock()
	return nil
}

// client returns the configured client.
func (m *mgr) client() (*client.Client, time.Duration, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.c == nil {
		return nil, 0, errors.New("the provider is not configured")
	}
	return m.c, m.poll, nil
}

// apiErr is the one place a client error becomes an action's: the client's
// message as is, retryable exactly when the client says so (5xx, no answer).
// Errors met after an action changed the manager are returned without it,
// so not retryable: a retry of the step must not repeat the change because
// a later read failed (those reads go through persist first).
func apiErr(err error) error {
	if err == nil {
		return nil
	}
	if client.IsRetryable(err) {
		return sdk.Retryable(err)
	}
	return err
}

// persist calls f until it succeeds or fails for good: retryable errors
// (5xx, no answer) are waited out every poll until ctx ends. It serves the
// reads that follow a change, which must not fail the step over a blip.
func persist(ctx context.Context, poll time.Duration, f func() error) error {
	for {
		err := f()
		if err == nil || !client.IsRetryable(err) {
			return err
		}
		t := time.NewTimer(poll)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (last error: %v)", context.Cause(ctx), err)
		case <-t.C:
		}
	}
}

// parseDuration reads an optional duration input; "" is 0.
func parseDuration(attr, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, sdk.AttributeError(attr, fmt.Errorf("%s %q is not a duration such as \"90s\" or \"10m\"", attr, s))
	}
	return d, nil
}

// parseTime reads the manager's timestamps ("2020-03-13T04:00:00.000Z";
// older managers leave out the zone or use a space).
func parseTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// boolOr is *b, or def when unset.
func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

// progress throttles a Reporter's byte progress: at most one report per
// twentieth of the total (or per MiB when the total is unknown), plus the
// first and the last.
type progress struct {
	r    sdk.Reporter
	last int64
}

func (p *progress) report(done, total int64) {
	step := int64(1 << 20)
	if total > 0 && total/20 > step {
		step = total / 20
	}
	if total < 0 {
		total = 0
	}
	if done == 0 || done == total || done-p.last >= step {
		p.last = done
		p.r.Progress(done, total, "bytes")
	}
}

// logEvent writes an execution's event or log line into the step's log.
func logEvent(r sdk.Reporter, ev client.Event) {
	msg := ev.Message
	if ev.NodeInstanceID != "" {
		ctx := ev.NodeInstanceID
		if ev.Operation != "" {
			ctx += "." + ev.Operation[strings.LastIndex(ev.Operation, ".")+1:]
		}
		msg = "[" + ctx + "] " + msg
	}
	level := sdk.LevelInfo
	if ev.IsLog() {
		switch strings.ToLower(ev.Level) {
		case "debug":
			level = sdk.LevelDebug
		case "warn", "warning":
			level = sdk.LevelWarn
		case "error", "critical":
			level = sdk.LevelError
		}
	} else if ev.EventType == client.EventWorkflowFailed || strings.HasSuffix(ev.EventType, "_failed") {
		level = sdk.LevelError
	}
	for _, c := range ev.ErrorCauses {
		if c.Message != "" && !strings.Contains(msg, c.Message) {
			msg += " (" + c.Type + ": " + c.Message + ")"
		}
	}
	r.Log(level, msg)
}
