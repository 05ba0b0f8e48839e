package modules

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/hashicorp/hcl/v2"

	"github.com/runbook-dev/runbook/dsl"
)

// Installer is the dsl.RemoteModules of `runbook init`: it fetches each git
// module as the loader reaches it, so that the modules a fetched module
// calls are fetched in turn. Use one Installer for one Load.
type Installer struct {
	ctx     context.Context
	upgrade bool

	old     Lock // the lock file as init found it
	oldErr  error
	oldRead bool

	refs      map[string][]*plumbing.Reference // ls-remote, by repository
	installed []*Locked
}

// NewInstaller returns an Installer. Without upgrade, a module whose
// source and version are as locked gets the locked commit again, even if
// newer tags exist; with upgrade, every module is resolved afresh.
func NewInstaller(ctx context.Context, upgrade bool) *Installer {
	return &Installer{ctx: ctx, upgrade: upgrade, refs: map[string][]*plumbing.Reference{}}
}

// Installed lists the modules installed, in load order (depth first, in
// declaration order).
func (in *Installer) Installed() []*Locked { return in.installed }

// Lock is the module part of the new lock file: every module installed,
// and no module the runbook no longer calls.
func (in *Installer) Lock() Lock {
	l := Lock{}
	for _, m := range in.installed {
		l[m.Key] = m
	}
	return l
}

// ModuleDir installs the module and returns its directory.
func (in *Installer) ModuleDir(call dsl.ModuleCall) (string, hcl.Diagnostics) {
	src, diags := parseCall(call)
	if diags.HasErrors() {
		return "", diags
	}
	old, err := in.oldLock(call.RootDir)
	if err != nil {
		return "", lockDiag(err, call)
	}
	t, diags := in.target(call, src, old[call.Key()])
	if diags.HasErrors() {
		return "", diags
	}
	dir := InstallDir(call.RootDir, call.Key())
	commit, err := install(in.ctx, src.Repo, dir, t)
	if err != nil {
		return "", fetchDiags(err, call, src)
	}
	m := call.Module
	in.installed = append(in.installed, &Locked{Key: call.Key(), Source: m.Source, Version: m.Version, Ref: t.ref, Commit: commit})
	modDir := moduleDir(dir, src)
	if !isDir(modDir) {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Module directory not found",
			Detail:   fmt.Sprintf("The repository %s has no directory %q at %s (commit %s).", src.Repo, src.Subdir, t.ref, commit),
			Subject:  m.SourceRange.Ptr(),
		}}
	}
	return modDir, nil
}

func (in *Installer) oldLock(rootDir string) (Lock, error) {
	if !in.oldRead {
		in.old, in.oldErr = ReadLock(LockPath(rootDir))
		in.oldRead = true
	}
	return in.old, in.oldErr
}

// target picks the commit: the locked one while the call is as locked,
// else what the source and version ask of the repository's refs now.
func (in *Installer) target(call dsl.ModuleCall, src Source, prev *Locked) (target, hcl.Diagnostics) {
	m := call.Module
	if prev != nil && !in.upgrade && prev.Source == m.Source && prev.Version == m.Version {
		return target{ref: prev.Ref, commit: prev.Commit}, nil
	}
	refs, err := in.listRefs(src.Repo)
	if err != nil {
		return target{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Module repository unreachable",
			Detail:   fmt.Sprintf("Listing the refs of %s failed: %v.", src.Repo, err),
			Subject:  m.SourceRange.Ptr(),
		}}
	}
	var t target
	switch {
	case src.Ref != "":
		t, err = chooseRef(refs, src.Ref)
	case m.Version != "":
		t, err = chooseVersion(refs, m.Version)
	default:
		t, err = chooseHead(refs)
	}
	if err != nil {
		return target{}, fetchDiags(err, call, src)
	}
	return t, nil
}

func (in *Installer) listRefs(repo string) ([]*plumbing.Reference, error) {
	if refs, ok := in.refs[repo]; ok {
		return refs, nil
	}
	refs, err := listRefs(in.ctx, repo)
	if err == nil {
		in.refs[repo] = refs
	}
	return refs, err
}

// fetchDiags turns a failure to pick or fetch a commit into a diagnostic
// on the attribute that asked for it.
func fetchDiags(err error, call dsl.ModuleCall, src Source) hcl.Diagnostics {
	m := call.Module
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Subject: m.SourceRange.Ptr()}
	var nm *NoMatchError
	var rn *RefNotFoundError
	var ce *CloneError
	switch {
	case errors.As(err, &nm):
		d.Summary, d.Subject = "No matching module version", m.VersionRange.Ptr()
		d.Detail = fmt.Sprintf("No tag of %s satisfies the version constraint %q. %s", src.Repo, nm.Constraint, available(nm.Available))
	case errors.As(err, &rn) && rn.Commit != "" && rn.Commit != rn.Ref:
		d.Summary = "Locked module commit not found"
		d.Detail = fmt.Sprintf("%s no longer has commit %s, which the lock file records for module %q (%s). "+
			"Run `runbook init -upgrade` to pick a commit again.", src.Repo, rn.Commit, call.Key(), rn.Ref)
	case errors.As(err, &rn):
		d.Summary = "Module ref not found"
		d.Detail = fmt.Sprintf("%s has no tag, branch or commit %q.", src.Repo, rn.Ref)
	case errors.As(err, &ce):
		d.Summary = "Module repository unreachable"
		d.Detail = fmt.Sprintf("Cloning %s failed: %v.", src.Repo, ce.Err)
	default:
		d.Summary = "Cannot install module"
		d.Detail = fmt.Sprintf("Installing module %q from %s failed: %v.", call.Key(), src.Repo, err)
	}
	return hcl.Diagnostics{d}
}

func available(tags []string) string {
	if len(tags) == 0 {
		return "The repository has no version tags (such as v1.2.0)."
	}
	return fmt.Sprintf("Available versions: %s.", strings.Join(tags, ", "))
}
