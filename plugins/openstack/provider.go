package openstack

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Version is the provider's version, checked against a runbook's
// required_providers.
const Version = "0.1.0"

// DefaultPollInterval is how often waits read the cloud unless the provider
// block's poll_interval says otherwise.
const DefaultPollInterval = 2 * time.Second

// Config is the provider "openstack" block.
type Config struct {
	Cloud                       string `cty:"cloud" help:"Name of an entry of clouds.yaml (OS_CLIENT_CONFIG_FILE, ./clouds.yaml, ~/.config/openstack/clouds.yaml, /etc/openstack/clouds.yaml; secure.yaml beside it is merged). Without cloud or auth_url: OS_CLOUD, else the OS_* environment."`
	AuthURL                     string `cty:"auth_url" help:"Keystone URL, with or without /v3."`
	Username                    string `cty:"username" help:"User name (password authentication)."`
	Password                    string `cty:"password" runbook:"sensitive" help:"Password of username."`
	ProjectName                 string `cty:"project_name" help:"Project to scope the token to."`
	ProjectID                   string `cty:"project_id" help:"Project id, instead of project_name."`
	UserDomainName              string `cty:"user_domain_name" help:"Domain of the user; Default when no domain is given."`
	UserDomainID                string `cty:"user_domain_id" help:"Domain id of the user, instead of user_domain_name."`
	ProjectDomainName           string `cty:"project_domain_name" help:"Domain of the project; Default when no domain is given."`
	ProjectDomainID             string `cty:"project_domain_id" help:"Domain id of the project, instead of project_domain_name."`
	ApplicationCredentialID     string `cty:"application_credential_id" help:"Application credential id (instead of a password)."`
	ApplicationCredentialSecret string `cty:"application_credential_secret" runbook:"sensitive" help:"Secret of the application credential."`
	Region                      string `cty:"region" help:"Region of the endpoints to use."`
	Interface                   string `cty:"interface" help:"Endpoint interface: public (default), internal or admin."`
	CAFile                      string `cty:"ca_file" help:"PEM bundle that verifies the cloud's certificates instead of the system roots."`
	Insecure                    *bool  `cty:"insecure" help:"Skip TLS verification (drills against a simulator only)."`
	ComputeMicroversion         string `cty:"compute_microversion" help:"Newest Nova microversion to use, such as \"2.60\"; read from the compute endpoint when unset."`
	PollInterval                string `cty:"poll_interval" help:"How often waits read the cloud, a duration such as \"2s\" (the default)."`
}

// cloud is what the actions share: the resolved credentials and the
// session built from them on first use.
type cloud struct {
	getenv func(string) string

	mu    sync.Mutex
	creds *credentials
	hc    http.Client
	pin   string
	poll  time.Duration
	sess  *session
}

// New returns the openstack provider, unconfigured. Each call returns a
// new instance: the engine configures one per provider block.
func New() *sdk.Provider {
	return newProvider(os.Getenv)
}

func newProvider(getenv func(string) string) *sdk.Provider {
	c := &cloud{getenv: getenv, poll: DefaultPollInterval}
	p := &sdk.Provider{Name: "openstack", Version: Version, Config: sdk.ConfigOf(c.configure)}
	c.registerServers(p)
	c.registerEvacuate(p)
	c.registerNetwork(p)
	c.registerServices(p)
	c.registerHypervisors(p)
	c.registerHostEvacuate(p)
	return p
}

// configure checks the block and resolves where the credentials come
// from; it does not reach the cloud (validate and plan of runbooks that
// never call an action stay offline).
func (c *cloud) configure(_ context.Context, cfg Config) error {
	poll := DefaultPollInterval
	if cfg.PollInterval != "" {
		d, err := time.ParseDuration(cfg.PollInterval)
		if err != nil || d <= 0 {
			return attrErr("poll_interval", fmt.Errorf("poll_interval %q is not a positive duration such as \"2s\"", cfg.PollInterval))
		}
		poll = d
	}
	if cfg.ComputeMicroversion != "" {
		if _, err := parseMicroversion(cfg.ComputeMicroversion); err != nil {
			return attrErr("compute_microversion", err)
		}
	}
	creds, err := resolveCredentials(cfg, c.getenv)
	if err != nil {
		return err
	}
	if _, err := url.Parse(creds.AuthURL); err != nil {
		return attrErr("auth_url", fmt.Errorf("auth_url %q: %w", creds.AuthURL, err))
	}
	tlsAttr := "ca_file"
	if cfg.CAFile == "" && cfg.Cloud != "" {
		tlsAttr = "cloud"
	}
	hc, err := httpClient(creds, tlsAttr)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.creds, c.hc, c.pin, c.poll, c.sess = creds, hc, cfg.ComputeMicroversion, poll, nil
	return nil
}

// session returns the authenticated session, connecting on first use. A
// failed connection is not kept: the next action tries again.
func (c *cloud) session(ctx context.Context) (*session, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.creds == nil {
		return nil, errors.New("the provider is not configured")
	}
	if c.sess != nil {
		return c.sess, nil
	}
	s, err := connect(ctx, c.creds, c.hc, c.pin)
	if err != nil {
		return nil, err
	}
	c.sess = s
	return s, nil
}

func (c *cloud) pollInterval() time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.poll
}

// bounded is the deadline of an action with a timeout input: it bounds
// every call the action makes, not only its waits.
func bounded(ctx context.Context, timeout time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeoutCause(ctx, timeout, errWaitTimeout)
}

// attrErr points err at the input (or configuration attribute) name.
func attrErr(name string, err error) error { return sdk.AttributeError(name, err) }

// parseDuration reads an optional duration input; "" is def.
func parseDuration(attr, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, attrErr(attr, fmt.Errorf("%s %q is not a positive duration such as \"90s\" or \"10m\"", attr, s))
	}
	return d, nil
}

func boolOr(b *bool, def bool) bool {
	if b == nil {
		return def
	}
	return *b
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
