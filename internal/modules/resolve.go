package modules

import (
	"fmt"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbook-dev/runbook/dsl"
)

// Resolver is the dsl.RemoteModules of every command but init: it loads a
// git module from its checkout, and only when the checkout is the commit
// the lock file records for the module as it is written now. It never
// touches the network.
type Resolver struct {
	mu    sync.Mutex
	locks map[string]lockResult // by root directory
}

type lockResult struct {
	lock Lock
	err  error
}

// NewResolver returns a Resolver.
func NewResolver() *Resolver { return &Resolver{locks: map[string]lockResult{}} }

// ModuleDir returns the checkout's module directory, or why it cannot be
// used: not installed, or installed for another source, version or commit.
func (r *Resolver) ModuleDir(call dsl.ModuleCall) (string, hcl.Diagnostics) {
	src, diags := parseCall(call)
	if diags.HasErrors() {
		return "", diags
	}
	lock, err := r.lock(call.RootDir)
	if err != nil {
		return "", lockDiag(err, call)
	}
	m, key, dir := call.Module, call.Key(), InstallDir(call.RootDir, call.Key())
	locked := lock[key]
	if locked == nil || !isDir(dir) {
		return "", notInstalled(call, fmt.Sprintf("Module %q (%s) is not installed in %s: run `runbook init` to fetch it.", key, m.Source, dir))
	}
	if locked.Source != m.Source || locked.Version != m.Version {
		return "", changed(call, fmt.Sprintf("The lock file records module %q with source %q and version %q; the runbook now says source %q and version %q.",
			key, locked.Source, locked.Version, m.Source, m.Version))
	}
	have, err := installedCommit(dir)
	if err != nil {
		return "", notInstalled(call, fmt.Sprintf("Module %q in %s is not a git checkout (%v): run `runbook init` to fetch it again.", key, dir, err))
	}
	if have != locked.Commit {
		return "", changed(call, fmt.Sprintf("Module %q in %s is at commit %s, but the lock file records %s (%s).", key, dir, have, locked.Commit, locked.Ref))
	}
	return moduleDir(dir, src), nil
}

func (r *Resolver) lock(rootDir string) (Lock, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	res, ok := r.locks[rootDir]
	if !ok {
		res.lock, res.err = ReadLock(LockPath(rootDir))
		r.locks[rootDir] = res
	}
	return res.lock, res.err
}

func notInstalled(call dsl.ModuleCall, detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Module not installed", Detail: detail, Subject: call.Module.SourceRange.Ptr()}}
}

func changed(call dsl.ModuleCall, detail string) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Module source changed since init",
		Detail:   detail + " Run `runbook init` (or `runbook init -upgrade`) to install the module as the runbook asks.",
		Subject:  call.Module.SourceRange.Ptr(),
	}}
}
