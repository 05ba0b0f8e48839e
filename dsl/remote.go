package dsl

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// RemoteModules finds the directory of a module whose source is not a local
// path. The language only tells local paths from the rest: fetching,
// version selection and the lock file belong to the caller (`runbook init`
// installs git modules, every other command finds the installed copy), so
// that this package stays free of git and of the network.
type RemoteModules interface {
	// ModuleDir returns the directory to load the module from, or error
	// diagnostics on the call's source or version attribute.
	ModuleDir(call ModuleCall) (string, hcl.Diagnostics)
}

// ModuleCall is one module block with a non-local source, and where it sits.
type ModuleCall struct {
	// RootDir is the root runbook's directory, beside which installed
	// modules and the lock file live, whatever the depth of the call.
	RootDir string
	// Path is the module path of the callee: ["restore"] for module
	// "restore" of the root, ["restore", "upload"] for one inside it.
	Path   []string
	Module *Module
}

// Key names the call uniquely in the whole tree ("restore.upload"): module
// names cannot hold dots, so the join is unambiguous, and it is the same
// as the addresses (module.restore.module.upload) without the keywords.
func (c ModuleCall) Key() string { return strings.Join(c.Path, ".") }
