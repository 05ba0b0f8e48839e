// Package modules fetches runbook modules from git repositories and finds
// them again. `runbook init` uses an Installer: for each module block whose
// source is git::URL//SUBDIR?ref=REF, with or without a version constraint,
// it lists the repository's refs, picks the commit (the lock file's, else
// the newest tag the constraint allows, the ref, or the default branch),
// checks it out under .runbook/modules/KEY beside the root runbook and
// records it in the lock file. Every other command uses a Resolver, which
// only checks that the installed commit is the locked one. Both plug into
// dsl.Loader as its RemoteModules, so the language itself never sees git.
//
// Git runs in-process (go-git): no git binary is needed, for file:// URLs
// either.
package modules

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbook-dev/runbook/dsl"
)

// InstallDir is where the module with this key is checked out: a
// directory of the root runbook's .runbook, one per module call, so that
// two calls of the same repository at different versions do not collide.
func InstallDir(rootDir, key string) string {
	return filepath.Join(rootDir, ".runbook", "modules", key)
}

// LockPath is the lock file of the runbook in rootDir.
func LockPath(rootDir string) string { return filepath.Join(rootDir, LockFileName) }

// parseCall checks what can be checked of a call without the network.
func parseCall(call dsl.ModuleCall) (Source, hcl.Diagnostics) {
	m := call.Module
	src, err := ParseSource(m.Source)
	if err != nil {
		return Source{}, hcl.Diagnostics{sourceDiag(err, m)}
	}
	if src.Ref != "" && m.Version != "" {
		return Source{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Conflicting ref and version",
			Detail: fmt.Sprintf("The source pins ref %q and `version` asks for %q: use one or the other. "+
				"A version constraint picks the newest matching tag; ?ref= names one tag, branch or commit.", src.Ref, m.Version),
			Subject: m.VersionRange.Ptr(),
		}}
	}
	return src, nil
}

func sourceDiag(err error, m *dsl.Module) *hcl.Diagnostic {
	var se *SourceError
	d := &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid module source", Subject: m.SourceRange.Ptr()}
	switch {
	case errors.As(err, &se) && se.Unsupported:
		d.Summary = "Unsupported module source"
		d.Detail = fmt.Sprintf("Module source %q is not supported: %s. %s", m.Source, se.Reason, SourceHelp)
	case errors.As(err, &se):
		d.Detail = fmt.Sprintf("Module source %q is not valid: %s. %s", m.Source, se.Reason, SourceHelp)
	default:
		d.Detail = err.Error()
	}
	return d
}

func lockDiag(err error, call dsl.ModuleCall) hcl.Diagnostics {
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Cannot read the lock file",
		Detail:   fmt.Sprintf("%s: %v.", LockPath(call.RootDir), err),
		Subject:  call.Module.SourceRange.Ptr(),
	}}
}

// moduleDir is the module's directory inside its checkout.
func moduleDir(dir string, src Source) string {
	return filepath.Join(dir, filepath.FromSlash(src.Subdir))
}

func isDir(path string) bool {
	info, err := os.Stat(path)
	return err == nil && info.IsDir()
}
