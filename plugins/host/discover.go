package host

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/hashicorp/go-version"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// BinaryPrefix starts the file name of every plugin binary:
// runbook-provider-NAME, or runbook-provider-NAME_vX.Y.Z when several
// versions are installed side by side.
const BinaryPrefix = "runbook-provider-"

// PluginDir is where a runbook's own plugins live, relative to its
// directory.
const PluginDir = ".runbook/plugins"

// PluginPathEnv lists more directories to search, separated as PATH is.
const PluginPathEnv = "RUNBOOK_PLUGIN_PATH"

// Plugin is one plugin binary found on the search path.
type Plugin struct {
	Name string
	// Version is the one in the file name (runbook-provider-NAME_v1.2.3),
	// "" when the name has none; the plugin's schema says the real one.
	Version string
	Path    string // absolute
	Dir     string // the search directory it was found in
}

// SearchPath returns the directories searched for plugins, in order:
// .runbook/plugins beside the runbook, each directory of pluginPath (the
// value of RUNBOOK_PLUGIN_PATH), then exeDir, where `make build` puts the
// bundled providers beside the runbook binary. Empty entries are dropped
// and each directory appears once, at its first place.
func SearchPath(runbookDir, pluginPath, exeDir string) []string {
	var dirs []string
	add := func(d string) {
		if d == "" {
			return
		}
		if abs, err := filepath.Abs(d); err == nil {
			d = abs
		}
		if !slices.Contains(dirs, d) {
			dirs = append(dirs, d)
		}
	}
	if runbookDir != "" {
		add(filepath.Join(runbookDir, PluginDir))
	}
	for _, d := range filepath.SplitList(pluginPath) {
		add(d)
	}
	add(exeDir)
	return dirs
}

// DefaultSearchPath is SearchPath with RUNBOOK_PLUGIN_PATH from the
// environment and the directory of the running executable.
func DefaultSearchPath(runbookDir string) []string {
	exeDir := ""
	if exe, err := os.Executable(); err == nil {
		if real, err := filepath.EvalSymlinks(exe); err == nil {
			exe = real
		}
		exeDir = filepath.Dir(exe)
	}
	return SearchPath(runbookDir, os.Getenv(PluginPathEnv), exeDir)
}

// Discover lists every plugin binary in dirs, in search order; within a
// directory, by name, then newest version first, then the unversioned
// file. Missing directories are skipped.
func Discover(dirs []string) []Plugin {
	var out []Plugin
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if err != nil {
			continue
		}
		var found []Plugin
		for _, e := range entries {
			name, ver, ok := ParseBinaryName(e.Name())
			if !ok {
				continue
			}
			path := filepath.Join(dir, e.Name())
			info, err := os.Stat(path) // follows symlinks
			if err != nil || !info.Mode().IsRegular() || (runtime.GOOS != "windows" && info.Mode().Perm()&0o111 == 0) {
				continue
			}
			found = append(found, Plugin{Name: name, Version: ver, Path: path, Dir: dir})
		}
		slices.SortStableFunc(found, func(a, b Plugin) int {
			if c := strings.Compare(a.Name, b.Name); c != 0 {
				return c
			}
			return -compareVersions(a.Version, b.Version)
		})
		out = append(out, found...)
	}
	return out
}

// compareVersions orders file-name versions; "" (unversioned) is lowest.
func compareVersions(a, b string) int {
	switch {
	case a == b:
		return 0
	case a == "":
		return -1
	case b == "":
		return 1
	}
	va, erra := version.NewVersion(a)
	vb, errb := version.NewVersion(b)
	if erra != nil || errb != nil {
		return strings.Compare(a, b)
	}
	return va.Compare(vb)
}

// ParseBinaryName splits runbook-provider-NAME[_vX.Y.Z][.exe] into the
// provider name and the version; ok is false for any other file name.
func ParseBinaryName(file string) (name, ver string, ok bool) {
	if runtime.GOOS == "windows" {
		file = strings.TrimSuffix(file, ".exe")
	}
	rest, ok := strings.CutPrefix(file, BinaryPrefix)
	if !ok || rest == "" {
		return "", "", false
	}
	name = rest
	if i := strings.LastIndex(rest, "_v"); i > 0 {
		if v, err := version.NewVersion(rest[i+2:]); err == nil {
			name, ver = rest[:i], v.String()
		}
	}
	if !hclsyntax.ValidIdentifier(name) {
		return "", "", false
	}
	return name, ver, true
}

// Find picks the plugin that serves name: the first search directory that
// holds any binary for it wins. Within that directory the newest
// file-name version that satisfies the constraints comes first, then an
// unversioned binary, then the newest of the others (which the version
// check will then refuse with a clear message).
func Find(plugins []Plugin, name string, constraints version.Constraints) (Plugin, bool) {
	var dir string
	var cands []Plugin
	for _, p := range plugins {
		if p.Name != name {
			continue
		}
		if dir == "" {
			dir = p.Dir
		}
		if p.Dir == dir {
			cands = append(cands, p) // newest first, unversioned last
		}
	}
	if len(cands) == 0 {
		return Plugin{}, false
	}
	for _, p := range cands {
		if p.Version != "" && satisfies(p.Version, constraints) {
			return p, true
		}
	}
	for _, p := range cands {
		if p.Version == "" {
			return p, true
		}
	}
	return cands[0], true
}

func satisfies(v string, c version.Constraints) bool {
	if len(c) == 0 {
		return true
	}
	ver, err := version.NewVersion(v)
	return err == nil && c.Check(ver)
}
