package host

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/hashicorp/go-version"

	"github.com/runbook-dev/runbook/dsl"
)

// Init resolves every plugin the runbook uses, starts each once to learn
// its version, checks the version against required_providers, and writes
// the lock file with each plugin's version, SHA-256 and path. It accepts
// the binaries installed now: that is what `runbook init` is for. Nothing
// is written when a provider is missing or refused.
func (h *Host) Init(ctx context.Context) (*Lock, error) {
	lock := &Lock{Providers: map[string]*LockedProvider{}}
	var errs []error
	for _, name := range h.Needed() {
		if h.builtin(name) {
			continue
		}
		lp, err := h.initProvider(ctx, name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		lock.Providers[name] = lp
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	// A runbook of built-in providers only needs no lock file; one that
	// had plugins gets its lock file emptied.
	if _, err := os.Stat(h.opts.LockFile); len(lock.Providers) > 0 || err == nil {
		if err := WriteLock(h.opts.LockFile, lock); err != nil {
			return nil, err
		}
	}
	h.mu.Lock()
	h.lock, h.lockErr = lock, nil
	h.resolved = map[string]*resolution{}
	h.mu.Unlock()
	return lock, nil
}

func (h *Host) initProvider(ctx context.Context, name string) (*LockedProvider, error) {
	p, ok := Find(h.Plugins(), name, h.constraints(name))
	if !ok {
		return nil, &NotInstalledError{Name: name, Dirs: h.opts.SearchPath}
	}
	sum, err := hashFile(p.Path) // no cache: init reads what is there now
	if err != nil {
		return nil, fmt.Errorf("provider %q: reading the plugin: %w", name, err)
	}
	schema, err := h.pluginSchema(ctx, name, p.Path, sum)
	if err != nil {
		return nil, err
	}
	lp := &LockedProvider{Name: name, Version: schema.Version, SHA256: sum, Path: lockPath(h.opts.Dir, p.Path)}
	if cs := h.constraints(name); len(cs) > 0 {
		v, err := version.NewVersion(schema.Version)
		if err != nil {
			return nil, fmt.Errorf("provider %q (%s) reports version %q, which is not a version number, so the required_providers constraint %q cannot be checked",
				name, p.Path, schema.Version, h.Constraint(name))
		}
		if !cs.Check(v) {
			return nil, fmt.Errorf("provider %q (%s) is version %s, which does not satisfy the required_providers constraint %q",
				name, p.Path, schema.Version, h.Constraint(name))
		}
	}
	return lp, nil
}

// ProviderStatus is what `runbook providers` shows of one provider the
// runbook uses.
type ProviderStatus struct {
	Name     string
	Builtin  bool
	Required string // the version constraint, "" for none
	// Installed is the plugin that would run; nil when none is found.
	Installed *Plugin
	// Version is the installed plugin's version: the locked one when the
	// binary matches the lock, else what its schema or file name says.
	Version string
	SHA256  string // of the installed binary
	Locked  *LockedProvider
	// Problem is why a run would refuse the plugin, "" when it would not.
	Problem string
}

// Status describes every provider the runbook uses, sorted by name. It
// starts a plugin only when its version is known neither from the lock
// file nor from the schema cache.
func (h *Host) Status(ctx context.Context) []ProviderStatus {
	var out []ProviderStatus
	for _, name := range h.Needed() {
		st := ProviderStatus{Name: name, Required: h.Constraint(name)}
		if h.builtin(name) {
			st.Builtin = true
			if s, err := h.Schema(ctx, name); err == nil {
				st.Version = s.Version
			}
			out = append(out, st)
			continue
		}
		r := h.resolve(name)
		st.Locked = r.locked
		if r.plugin.Path != "" {
			p := r.plugin
			st.Installed, st.SHA256 = &p, r.sha
		}
		if r.err != nil && !isNotInstalled(r.err) {
			st.Problem = r.err.Error()
		}
		var mismatch bool
		var ve *VerifyError
		if errors.As(r.err, &ve) && ve.Summary == "Provider plugin checksum mismatch" {
			mismatch = true
		}
		switch {
		case st.Installed == nil:
		case r.locked != nil && r.locked.SHA256 == r.sha:
			st.Version = r.locked.Version
		case !mismatch:
			// Not locked yet: ask the plugin, as init would.
			if s, err := h.pluginSchema(ctx, name, r.plugin.Path, r.sha); err == nil {
				st.Version = s.Version
			}
		}
		if st.Version == "" && st.Installed != nil {
			st.Version = st.Installed.Version
		}
		out = append(out, st)
	}
	return out
}

// AllSchemas returns the schema of every built-in provider and of every
// plugin found on the search path (the one that would run, for each
// name). A plugin whose binary differs from its lock entry is refused.
func (h *Host) AllSchemas(ctx context.Context) (map[string]*dsl.ProviderSchema, error) {
	out := map[string]*dsl.ProviderSchema{}
	for name := range h.opts.Builtin {
		s, err := h.Schema(ctx, name)
		if err != nil {
			return nil, err
		}
		out[name] = s
	}
	lock, err := func() (*Lock, error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.readLock()
	}()
	if err != nil {
		return nil, err
	}
	var errs []error
	seen := map[string]bool{}
	for _, p := range h.Plugins() {
		if seen[p.Name] || h.builtin(p.Name) {
			continue
		}
		seen[p.Name] = true
		w, _ := Find(h.Plugins(), p.Name, h.constraints(p.Name))
		sum, err := FileSHA256(w.Path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if lp := lock.Providers[p.Name]; lp != nil && lp.SHA256 != sum {
			errs = append(errs, mismatchError(p.Name, w.Path, sum, h.opts.LockFile, lp.SHA256))
			continue
		}
		s, err := h.pluginSchema(ctx, p.Name, w.Path, sum)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[p.Name] = s
	}
	return out, errors.Join(errs...)
}
