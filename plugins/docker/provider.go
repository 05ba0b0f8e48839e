package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Version is the provider's version, checked against a runbook's
// required_providers.
const Version = "0.1.0"

// Config is the provider "docker" block. Unset attributes fall back to the
// environment, as the docker CLI does.
type Config struct {
	Host       string `cty:"host" help:"The daemon's address: unix:///var/run/docker.sock, tcp://HOST:2376. Unset: DOCKER_HOST, else the default socket."`
	APIVersion string `cty:"api_version" help:"Pin the API version (\"1.41\") instead of negotiating it with the daemon. Unset: DOCKER_API_VERSION, else negotiated."`
	CAFile     string `cty:"ca_file" help:"PEM bundle that verifies the daemon's certificate (TLS). When any of ca_file, cert_file and key_file is set, DOCKER_CERT_PATH and DOCKER_TLS_VERIFY are ignored."`
	CertFile   string `cty:"cert_file" help:"Client certificate (PEM) for a daemon that requires TLS client authentication; needs key_file."`
	KeyFile    string `cty:"key_file" help:"Unencrypted private key (PEM) of cert_file."`
}

// docker is what the actions share: the client built by Configure.
type docker struct {
	mu sync.RWMutex
	c  *client.Client
}

// New returns the docker provider, unconfigured. Each call returns a new
// instance: the engine configures one per provider block.
func New() *sdk.Provider {
	d := &docker{}
	p := &sdk.Provider{Name: "docker", Version: Version, Config: sdk.ConfigOf(d.configure)}
	d.registerSystem(p)
	d.registerImages(p)
	d.registerImageSave(p)
	d.registerImageLoad(p)
	d.registerContainers(p)
	d.registerWait(p)
	d.registerVolumes(p)
	return p
}

// configure builds the client without contacting the daemon: a dry-run
// must work before the engine is up, and the client negotiates the API
// version on its first request anyway.
func (d *docker) configure(_ context.Context, cfg Config) error {
	opts, err := clientOptions(cfg)
	if err != nil {
		return err
	}
	c, err := client.New(opts...)
	switch {
	case err == nil:
	case cfg.APIVersion != "" && strings.Contains(err.Error(), "API version"):
		return sdk.AttributeError("api_version", fmt.Errorf("api_version %q is not a version such as \"1.41\"", cfg.APIVersion))
	case cfg.Host != "" && !strings.Contains(err.Error(), "TLS"):
		return sdk.AttributeError("host", fmt.Errorf("host %q: %w", cfg.Host, err))
	default:
		return fmt.Errorf("creating the Docker client: %w", err)
	}
	d.mu.Lock()
	old := d.c
	d.c = c
	d.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	return nil
}

// clientOptions is client.FromEnv taken apart, each part replaced by the
// block's attribute when set: FromEnv's DOCKER_API_VERSION would otherwise
// win over api_version, and its DOCKER_CERT_PATH fail a block that names
// its own files.
func clientOptions(cfg Config) ([]client.Opt, error) {
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		attr := "key_file"
		if cfg.CertFile == "" {
			attr = "cert_file"
		}
		return nil, sdk.AttributeError(attr, errors.New("cert_file and key_file go together: set both or neither"))
	}
	for _, f := range []struct{ attr, path string }{{"ca_file", cfg.CAFile}, {"cert_file", cfg.CertFile}, {"key_file", cfg.KeyFile}} {
		if f.path == "" {
			continue
		}
		if _, err := os.Stat(f.path); err != nil {
			return nil, sdk.AttributeError(f.attr, fmt.Errorf("%s: %w", f.attr, err))
		}
	}
	opts := []client.Opt{client.WithTLSClientConfigFromEnv(), client.WithHostFromEnv(), client.WithAPIVersionFromEnv()}
	if cfg.CAFile != "" || cfg.CertFile != "" {
		opts[0] = client.WithTLSClientConfig(cfg.CAFile, cfg.CertFile, cfg.KeyFile)
	}
	if cfg.Host != "" {
		if _, err := client.ParseHostURL(cfg.Host); err != nil {
			return nil, sdk.AttributeError("host", fmt.Errorf("host %q is not an address such as unix:///var/run/docker.sock or tcp://10.0.0.5:2376", cfg.Host))
		}
		opts[1] = client.WithHost(cfg.Host)
	}
	if cfg.APIVersion != "" {
		opts[2] = client.WithAPIVersion(cfg.APIVersion)
	}
	return opts, nil
}

// client returns the configured client.
func (d *docker) client() (*client.Client, error) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.c == nil {
		return nil, errors.New("the provider is not configured")
	}
	return d.c, nil
}

// parseDuration reads an optional duration input; "" is def.
func parseDuration(attr, s string, def time.Duration) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, sdk.AttributeError(attr, fmt.Errorf("%s %q is not a duration such as \"10s\" or \"5m\"", attr, s))
	}
	return d, nil
}

// orEmptyMap makes a nil map an empty one: outputs are maps, never null.
func orEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

// filtersOf turns a runbook's map of lists into the client's filters.
func filtersOf(m map[string][]string) client.Filters {
	f := client.Filters{}
	for k, vs := range m {
		f.Add(k, vs...)
	}
	return f
}

// unixTime formats the seconds the API gives for creation times.
func unixTime(sec int64) string {
	if sec <= 0 {
		return ""
	}
	return time.Unix(sec, 0).UTC().Format(time.RFC3339)
}

func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}
