package dsl

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// MaxFileSize bounds one runbook or variable file. Runbooks are hand-written
// procedures; a file this large is a mistake (a tarball, a log) and reading
// it whole would only waste memory before failing.
const MaxFileSize = 8 << 20

// maxModuleDepth stops a module that (directly or not) sources itself.
const maxModuleDepth = 16

// Loader reads runbook files and remembers their sources so that diagnostics
// can show the offending line.
type Loader struct {
	parser *hclparse.Parser
	// Remote finds modules whose source is not a local path (git
	// repositories). Without one, such a source is an error.
	Remote RemoteModules
}

// NewLoader returns a Loader with an empty file cache.
func NewLoader() *Loader { return &Loader{parser: hclparse.NewParser()} }

// Files returns every file parsed so far, for rendering diagnostics.
func (l *Loader) Files() map[string]*hcl.File { return l.parser.Files() }

// Load reads a runbook from a directory of *.hcl and *.hcl.json files, or
// from one file, and loads the modules it calls.
func (l *Loader) Load(path string) (*Config, hcl.Diagnostics) {
	return l.load(path, frame{})
}

// frame is where one load sits in the module tree.
type frame struct {
	root      string    // the root runbook's directory; "" while loading the root
	path      []string  // the module path; nil for the root
	callRange hcl.Range // the source attribute of the call, for a missing directory
	ancestors []string  // absolute directories of the callers, to catch self-calls
}

func (l *Loader) load(path string, fr frame) (*Config, hcl.Diagnostics) {
	files, dir, diags := runbookFiles(path, fr.callRange)
	if diags.HasErrors() {
		return nil, diags
	}
	if fr.root == "" {
		fr.root = dir
	}
	cfg := newConfig(dir, fr.path)
	for _, name := range files {
		f, fdiags := l.parseFile(name)
		diags = append(diags, fdiags...)
		if f == nil || (fdiags.HasErrors() && strings.HasSuffix(name, ".json")) {
			continue
		}
		cfg.Files = append(cfg.Files, name)
		diags = append(diags, cfg.decodeFile(f.Body)...)
	}
	if cfg.Runbook == nil && len(fr.path) == 0 && !diags.HasErrors() && len(cfg.Files) > 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Missing runbook block",
			Detail:   "Add a `runbook \"NAME\" { version = \"1.0.0\" }` block so that history and plans name this runbook.",
			Subject:  &hcl.Range{Filename: cfg.Files[0], Start: hcl.InitialPos, End: hcl.InitialPos},
		})
	}
	fr.ancestors = append(fr.ancestors, absDir(dir))
	diags = append(diags, l.loadModules(cfg, fr)...)
	return cfg, diags
}

func (l *Loader) loadModules(cfg *Config, fr frame) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range cfg.ModuleOrder {
		m := cfg.Modules[name]
		if m.Source == "" {
			continue // its decoding already reported the problem
		}
		if len(cfg.Path) >= maxModuleDepth {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Modules nested too deeply",
				Detail:   fmt.Sprintf("Module calls are nested more than %d levels; a module probably calls itself.", maxModuleDepth),
				Subject:  m.SourceRange.Ptr(),
			})
			continue
		}
		childPath := append(slices.Clone(cfg.Path), name)
		childDir, mdiags := l.moduleDir(cfg, fr.root, childPath, m)
		diags = append(diags, mdiags...)
		if mdiags.HasErrors() {
			continue
		}
		if slices.Contains(fr.ancestors, absDir(childDir)) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Module calls itself",
				Detail:   fmt.Sprintf("Module %q sources %s, which is this module or one that calls it.", name, m.Source),
				Subject:  m.SourceRange.Ptr(),
			})
			continue
		}
		child, cdiags := l.load(childDir, frame{root: fr.root, path: childPath, callRange: m.SourceRange, ancestors: fr.ancestors})
		diags = append(diags, cdiags...)
		m.Config = child
	}
	return diags
}

// moduleDir is the directory a module call loads: beside the caller for a
// local source, wherever Remote says for any other.
func (l *Loader) moduleDir(cfg *Config, root string, path []string, m *Module) (string, hcl.Diagnostics) {
	if isLocalSource(m.Source) {
		if m.Version != "" {
			return "", hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Version constraint on a local module",
				Detail:   "`version` picks a tag of a git repository; a local module is used as it is on disk. Remove `version`, or use a git source.",
				Subject:  m.VersionRange.Ptr(),
			}}
		}
		return filepath.Join(cfg.Dir, m.Source), nil
	}
	if l.Remote == nil {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unsupported module source",
			Detail:   fmt.Sprintf("Module source %q is not a local path (one that starts with \"./\" or \"../\"), and remote modules cannot be loaded here.", m.Source),
			Subject:  m.SourceRange.Ptr(),
		}}
	}
	return l.Remote.ModuleDir(ModuleCall{RootDir: root, Path: path, Module: m})
}

func absDir(dir string) string {
	if abs, err := filepath.Abs(dir); err == nil {
		dir = abs
	}
	if real, err := filepath.EvalSymlinks(dir); err == nil {
		dir = real
	}
	return dir
}

func isLocalSource(s string) bool {
	return strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../")
}

// runbookFiles lists the files that make up the runbook at path.
func runbookFiles(path string, callRange hcl.Range) ([]string, string, hcl.Diagnostics) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, "", hcl.Diagnostics{pathDiag("Cannot read runbook", path, err, callRange)}
	}
	if !info.IsDir() {
		return []string{path}, filepath.Dir(path), nil
	}
	entries, err := os.ReadDir(path)
	if err != nil {
		return nil, "", hcl.Diagnostics{pathDiag("Cannot read runbook directory", path, err, callRange)}
	}
	var files []string
	for _, e := range entries {
		if e.Type()&fs.ModeType != 0 && !e.Type().IsRegular() && e.Type()&fs.ModeSymlink == 0 {
			continue
		}
		if isRunbookFile(e.Name()) {
			files = append(files, filepath.Join(path, e.Name()))
		}
	}
	sort.Strings(files)
	if len(files) == 0 {
		return nil, "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No runbook files",
			Detail:   fmt.Sprintf("The directory %s holds no *.hcl or *.hcl.json files.", path),
			Subject:  subjectOrNil(callRange),
		}}
	}
	return files, path, nil
}

// VarFileSuffixes mark variable files, which may sit beside the runbook
// without being read as part of it (Terraform's .tfvars, in HCL or JSON).
var VarFileSuffixes = []string{".vars.hcl", ".vars.json"}

func isRunbookFile(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") {
		return false
	}
	for _, suffix := range VarFileSuffixes {
		if strings.HasSuffix(name, suffix) {
			return false
		}
	}
	return strings.HasSuffix(name, ".hcl") || strings.HasSuffix(name, ".hcl.json")
}

// parseFile reads and parses one file, refusing oversized ones before
// reading them.
func (l *Loader) parseFile(name string) (*hcl.File, hcl.Diagnostics) {
	src, diags := ReadSource(name)
	if diags.HasErrors() {
		return nil, diags
	}
	if d := CheckNesting(src, name); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	if strings.HasSuffix(name, ".json") {
		return l.parser.ParseJSON(src, name)
	}
	return l.parser.ParseHCL(src, name)
}

// ReadSource reads a runbook or variable file, enforcing MaxFileSize.
func ReadSource(name string) ([]byte, hcl.Diagnostics) {
	f, err := os.Open(name)
	if err != nil {
		return nil, hcl.Diagnostics{pathDiag("Cannot read file", name, err, hcl.Range{})}
	}
	defer func() { _ = f.Close() }() // read-only
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() > MaxFileSize {
		return nil, hcl.Diagnostics{tooLarge(name)}
	}
	buf, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, hcl.Diagnostics{pathDiag("Cannot read file", name, err, hcl.Range{})}
	}
	if len(buf) > MaxFileSize {
		return nil, hcl.Diagnostics{tooLarge(name)}
	}
	return buf, nil
}

func tooLarge(name string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "File too large",
		Detail:   fmt.Sprintf("%s is larger than %d bytes, the limit for runbook and variable files.", name, MaxFileSize),
	}
}

// MaxNesting bounds how deeply brackets, braces and parentheses nest. The
// HCL parsers recurse once per level with no limit of their own, and a Go
// stack overflow kills the process.
const MaxNesting = 1000

// CheckNesting reports source whose brackets nest deeper than MaxNesting.
// It over-approximates (brackets inside strings count too), which only
// matters for sources no person writes.
func CheckNesting(src []byte, filename string) *hcl.Diagnostic {
	depth, line, col := 0, 1, 1
	for _, c := range src {
		switch c {
		case '(', '[', '{':
			depth++
			if depth > MaxNesting {
				pos := hcl.Pos{Line: line, Column: col}
				return &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Expression nested too deeply",
					Detail:   fmt.Sprintf("Brackets, braces and parentheses nest more than %d levels here.", MaxNesting),
					Subject:  &hcl.Range{Filename: filename, Start: pos, End: pos},
				}
			}
		case ')', ']', '}':
			if depth > 0 {
				depth--
			}
		case '\n':
			line, col = line+1, 0
		}
		col++
	}
	return nil
}

func pathDiag(summary, path string, err error, subject hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   fmt.Sprintf("%s: %s.", path, describeFSError(err)),
		Subject:  subjectOrNil(subject),
	}
}

func describeFSError(err error) string {
	switch {
	case os.IsNotExist(err):
		return "no such file or directory"
	case os.IsPermission(err):
		return "permission denied"
	}
	return err.Error()
}

func subjectOrNil(r hcl.Range) *hcl.Range {
	if r.Filename == "" {
		return nil
	}
	return r.Ptr()
}
