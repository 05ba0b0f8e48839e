package host

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/charmbracelet/log"
	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// Options configure a Host.
type Options struct {
	// Config is the runbook: its directory holds .runbook/plugins and the
	// lock file, and its required_providers give the version constraints.
	// It may be nil (then Dir must be set).
	Config *dsl.Config
	// Dir is the runbook's directory; Config.Dir when empty.
	Dir string
	// SearchPath lists the plugin directories in order;
	// DefaultSearchPath(Dir) when nil.
	SearchPath []string
	// LockFile is Dir/.runbook.lock.hcl when empty.
	LockFile string
	// Builtin providers run in-process (core); the function starts an
	// unconfigured instance.
	Builtin map[string]func() provider.Provider
	// Logger receives the plugins' logs and stderr at debug level, and the
	// host's own warnings; nil discards them.
	Logger *log.Logger
	// SchemaCache is a directory where plugin schemas are kept by the
	// SHA-256 of their binary, so that validate and plan need not start
	// a plugin to learn its schema; "" keeps them in memory only.
	SchemaCache string
	// StartTimeout bounds a plugin's start and handshake (default 30s).
	StartTimeout time.Duration
}

// Host finds, verifies and launches provider plugins for one runbook. It
// serves the engine's ProviderFactory (Provider) and the language's
// SchemaSource (Schemas); built-in providers run in-process through the
// same provider.Provider interface, so the engine cannot tell them apart.
// A Host is safe for concurrent use.
type Host struct {
	opts  Options
	needs map[string]*need

	discoverOnce sync.Once
	plugins      []Plugin

	mu        sync.Mutex
	lock      *Lock
	lockErr   error
	resolved  map[string]*resolution
	schemas   map[schemaKey]*schemaEntry
	instances map[*instance]struct{}

	launches atomic.Int64
}

// New returns a host for the runbook in opts.
func New(opts Options) *Host {
	if opts.Dir == "" && opts.Config != nil {
		opts.Dir = opts.Config.Dir
	}
	if opts.Dir == "" {
		opts.Dir = "."
	}
	if opts.SearchPath == nil {
		opts.SearchPath = DefaultSearchPath(opts.Dir)
	}
	if opts.LockFile == "" {
		opts.LockFile = filepath.Join(opts.Dir, LockFileName)
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = 30 * time.Second
	}
	return &Host{
		opts: opts, needs: collectNeeds(opts.Config),
		resolved: map[string]*resolution{}, schemas: map[schemaKey]*schemaEntry{},
		instances: map[*instance]struct{}{},
	}
}

// LockFile is the path of the lock file the host checks plugins against.
func (h *Host) LockFile() string { return h.opts.LockFile }

// SearchPath is where the host looks for plugins, in order.
func (h *Host) SearchPath() []string { return slices.Clone(h.opts.SearchPath) }

// Plugins lists every plugin binary found on the search path, in search
// order: for one name, the first is the one used (see Find).
func (h *Host) Plugins() []Plugin {
	h.discoverOnce.Do(func() { h.plugins = Discover(h.opts.SearchPath) })
	return h.plugins
}

// Launches counts the plugin processes this host has started.
func (h *Host) Launches() int64 { return h.launches.Load() }

func (h *Host) builtin(name string) bool { return h.opts.Builtin[name] != nil }

// need is one provider a runbook uses, with the constraints on its
// version and where it is first required, configured or used.
type need struct {
	name        string
	constraints []string
	parsed      version.Constraints
	rng         hcl.Range
}

// collectNeeds finds every provider the runbook and its modules use:
// required_providers entries, provider blocks and step actions.
func collectNeeds(cfg *dsl.Config) map[string]*need {
	needs := map[string]*need{}
	get := func(name string, rng hcl.Range) *need {
		n := needs[name]
		if n == nil {
			n = &need{name: name, rng: rng}
			needs[name] = n
		}
		return n
	}
	var walk func(c *dsl.Config)
	walk = func(c *dsl.Config) {
		if c == nil {
			return
		}
		if c.Runbook != nil {
			for _, name := range sortedKeys(c.Runbook.RequiredProviders) {
				rp := c.Runbook.RequiredProviders[name]
				n := get(name, rp.DeclRange)
				if rp.Constraints != "" && !slices.Contains(n.constraints, rp.Constraints) {
					n.constraints = append(n.constraints, rp.Constraints)
					if cs, err := version.NewConstraint(rp.Constraints); err == nil {
						n.parsed = append(n.parsed, cs...)
					}
				}
			}
		}
		for _, key := range sortedKeys(c.Providers) {
			p := c.Providers[key]
			get(p.Name, p.DeclRange)
		}
		for _, sn := range c.StepOrder {
			if s := c.Steps[sn]; s != nil && s.Action.Provider != "" {
				get(s.Action.Provider, s.Action.Range)
			}
		}
		for _, mn := range c.ModuleOrder {
			if m := c.Modules[mn]; m != nil {
				walk(m.Config)
			}
		}
	}
	walk(cfg)
	return needs
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Needed lists the providers the runbook uses, built-in ones included,
// sorted.
func (h *Host) Needed() []string { return sortedKeys(h.needs) }

// Constraint is the version constraint the runbook puts on name, "" for
// none.
func (h *Host) Constraint(name string) string {
	if n := h.needs[name]; n != nil {
		return strings.Join(n.constraints, ", ")
	}
	return ""
}

func (h *Host) constraints(name string) version.Constraints {
	if n := h.needs[name]; n != nil {
		return n.parsed
	}
	return nil
}

// NotInstalledError says no binary for a provider is on the search path.
type NotInstalledError struct {
	Name string
	Dirs []string
}

func (e *NotInstalledError) Error() string {
	return fmt.Sprintf("provider %q is not installed: no %s%s in %s", e.Name, BinaryPrefix, e.Name, strings.Join(e.Dirs, ", "))
}

// VerifyError is a plugin the host refuses to run: not in the lock file,
// a binary that differs from the locked one, or a version outside the
// runbook's constraints.
type VerifyError struct {
	Provider string
	Summary  string
	Detail   string
}

func (e *VerifyError) Error() string { return e.Detail }

// resolution is what the host knows of one provider's plugin.
type resolution struct {
	name   string
	plugin Plugin
	sha    string
	locked *LockedProvider
	err    error
}

func (h *Host) readLock() (*Lock, error) {
	if h.lock == nil && h.lockErr == nil {
		h.lock, h.lockErr = ReadLock(h.opts.LockFile)
		if h.lockErr != nil {
			h.lockErr = fmt.Errorf("%s: %w", h.opts.LockFile, h.lockErr)
		}
	}
	return h.lock, h.lockErr
}

// resolve finds the plugin for name and checks it against the lock file
// and the runbook's constraints, once per host.
func (h *Host) resolve(name string) *resolution {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.resolved[name]; r != nil {
		return r
	}
	r := &resolution{name: name}
	h.resolved[name] = r
	p, ok := Find(h.Plugins(), name, h.constraints(name))
	if !ok {
		r.err = &NotInstalledError{Name: name, Dirs: h.opts.SearchPath}
		return r
	}
	r.plugin = p
	sum, err := FileSHA256(p.Path)
	if err != nil {
		r.err = fmt.Errorf("provider %q: reading the plugin: %w", name, err)
		return r
	}
	r.sha = sum
	lock, err := h.readLock()
	if err != nil {
		r.err = &VerifyError{Provider: name, Summary: "Cannot read the lock file", Detail: err.Error()}
		return r
	}
	r.locked = lock.Providers[name]
	r.err = h.verify(r)
	return r
}

func (h *Host) verify(r *resolution) error {
	lf := h.opts.LockFile
	if r.locked == nil {
		return &VerifyError{Provider: r.name, Summary: "Provider not initialised",
			Detail: fmt.Sprintf("Provider %q (%s) is not recorded in %s. Run `runbook init` to record it.", r.name, r.plugin.Path, lf)}
	}
	if r.locked.SHA256 != r.sha {
		return mismatchError(r.name, r.plugin.Path, r.sha, lf, r.locked.SHA256)
	}
	cs := h.constraints(r.name)
	if len(cs) == 0 {
		return nil
	}
	v, err := version.NewVersion(r.locked.Version)
	if err != nil {
		return &VerifyError{Provider: r.name, Summary: "Provider version not allowed",
			Detail: fmt.Sprintf("Provider %q reports version %q, which is not a version number, so required_providers constraint %q cannot be checked.", r.name, r.locked.Version, h.Constraint(r.name))}
	}
	if !cs.Check(v) {
		return &VerifyError{Provider: r.name, Summary: "Provider version not allowed",
			Detail: fmt.Sprintf("Provider %q is version %s (%s), which does not satisfy the required_providers constraint %q.", r.name, r.locked.Version, r.plugin.Path, h.Constraint(r.name))}
	}
	return nil
}

func mismatchError(name, path, got, lockFile, want string) error {
	return &VerifyError{Provider: name, Summary: "Provider plugin checksum mismatch",
		Detail: fmt.Sprintf("Refusing to run provider %q: the plugin %s has sha256 %s, but %s records sha256 %s. "+
			"If you replaced the plugin on purpose, run `runbook init` to record it.", name, path, got, lockFile, want)}
}

// Verify checks every plugin the runbook uses against the lock file and
// the version constraints, without starting any. A provider that is not
// installed is not an error here: the validator warns that its schema is
// not available, and a step that runs it fails.
func (h *Host) Verify() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range h.Needed() {
		if h.builtin(name) {
			continue
		}
		r := h.resolve(name)
		var ve *VerifyError
		switch {
		case r.err == nil:
		case errors.As(r.err, &ve):
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: ve.Summary, Detail: ve.Detail, Subject: h.needs[name].rng.Ptr()})
		case isNotInstalled(r.err):
		default:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Provider plugin not usable", Detail: r.err.Error(), Subject: h.needs[name].rng.Ptr()})
		}
	}
	return diags
}

func isNotInstalled(err error) bool {
	var ni *NotInstalledError
	return errors.As(err, &ni)
}

// Provider is the engine's ProviderFactory: a built-in provider in
// process, or a plugin that starts on its first call.
func (h *Host) Provider(_ context.Context, name string) (provider.Provider, error) {
	if f := h.opts.Builtin[name]; f != nil {
		return f(), nil
	}
	r := h.resolve(name)
	if r.err != nil {
		if isNotInstalled(r.err) {
			return nil, fmt.Errorf("%w; install it and run `runbook init`", r.err)
		}
		return nil, r.err
	}
	return &pluginProvider{h: h, r: r}, nil
}

// Close stops every plugin process still running.
func (h *Host) Close() error {
	h.mu.Lock()
	insts := make([]*instance, 0, len(h.instances))
	for i := range h.instances {
		insts = append(insts, i)
	}
	h.mu.Unlock()
	for _, i := range insts {
		h.stop(i)
	}
	return nil
}

func (h *Host) warn(msg string, kv ...any) {
	if h.opts.Logger != nil {
		h.opts.Logger.Warn(msg, kv...)
	}
}
