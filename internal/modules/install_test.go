package modules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/modules/gittest"
)

// fixture is a module repository and a root runbook that calls it.
type fixture struct {
	t       *testing.T
	repo    *gittest.Repo
	root    string
	commits map[string]string // tag -> commit
}

// newFixture makes a bare repository whose mod/ directory is a module with
// one step, at v1.0.0 (lightweight tag), v1.1.0 and v2.0.0 (annotated).
func newFixture(t *testing.T) *fixture {
	t.Helper()
	repo, err := gittest.Open(filepath.Join(t.TempDir(), "repo.git"))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, repo: repo, root: t.TempDir(), commits: map[string]string{}}
	f.release("v1.0.0", false)
	f.release("v1.1.0", true)
	f.release("v2.0.0", true)
	return f
}

// release commits a module that says its version, and tags it.
func (f *fixture) release(tag string, annotated bool) {
	f.t.Helper()
	f.commit(tag, map[string]string{"mod/main.hcl": moduleSrc(tag), "README.md": tag})
	if err := f.repo.Tag(tag, annotated); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) commit(name string, files map[string]string) {
	f.t.Helper()
	src := f.t.TempDir()
	for path, content := range files {
		p := filepath.Join(src, path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			f.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			f.t.Fatal(err)
		}
	}
	h, err := f.repo.Commit(src, "release "+name)
	if err != nil {
		f.t.Fatal(err)
	}
	f.commits[name] = h
}

func moduleSrc(tag string) string {
	return `
step "hello" {
  action  = core.exec
  command = ["echo", "` + tag + `"]
}
output "version" { value = "` + tag + `" }
`
}

// write makes the root runbook call the repository with this source
// suffix and version attribute.
func (f *fixture) write(suffix, version string) {
	f.t.Helper()
	src := "runbook \"r\" {\n  version = \"1.0.0\"\n}\n\nmodule \"restore\" {\n  source = \"git::" + f.repo.URL() + "//mod" + suffix + "\"\n"
	if version != "" {
		src += "  version = \"" + version + "\"\n"
	}
	src += "}\n"
	if err := os.WriteFile(filepath.Join(f.root, "main.hcl"), []byte(src), 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// init runs what `runbook init` does for modules and returns the lock.
func (f *fixture) init(upgrade bool) (Lock, hcl.Diagnostics) {
	f.t.Helper()
	in := NewInstaller(context.Background(), upgrade)
	loader := dsl.NewLoader()
	loader.Remote = in
	_, diags := loader.Load(f.root)
	if diags.HasErrors() {
		return nil, diags
	}
	if err := WriteLock(LockPath(f.root), in.Lock()); err != nil {
		f.t.Fatal(err)
	}
	return in.Lock(), diags
}

// mustInit runs init and checks that it locked ref at the commit tagged
// tag, and that the module loads from that commit.
func (f *fixture) mustInit(upgrade bool, ref, tag string) {
	f.t.Helper()
	lock, diags := f.init(upgrade)
	if diags.HasErrors() {
		f.t.Fatalf("init: %s", diags)
	}
	got := lock["restore"]
	if got == nil || got.Ref != ref || got.Commit != f.commits[tag] {
		f.t.Fatalf("locked %+v, want ref %s at the commit of %s (%s)", got, ref, tag, f.commits[tag])
	}
	if version := f.load(); version != tag {
		f.t.Fatalf("loaded the module of %s, want %s", version, tag)
	}
}

// load loads the root as validate would, and returns the version the
// module says it is.
func (f *fixture) load() string {
	f.t.Helper()
	cfg, diags := f.resolve()
	if diags.HasErrors() {
		f.t.Fatalf("load: %s", diags)
	}
	m := cfg.Modules["restore"].Config
	if want := InstallDir(f.root, "restore"); !strings.HasPrefix(m.Dir, want) {
		f.t.Fatalf("module loaded from %s, want under %s", m.Dir, want)
	}
	v, _ := m.Outputs["version"].Value.Value(nil)
	return v.AsString()
}

func (f *fixture) resolve() (*dsl.Config, hcl.Diagnostics) {
	loader := dsl.NewLoader()
	loader.Remote = NewResolver()
	return loader.Load(f.root)
}

func TestInstallVersionConstraint(t *testing.T) {
	f := newFixture(t)
	f.write("", "~> 1.0")
	f.mustInit(false, "v1.1.0", "v1.1.0")

	// A checkout at the locked commit is kept: init needs no network.
	offline := f.repo.Dir + ".away"
	if err := os.Rename(f.repo.Dir, offline); err != nil {
		t.Fatal(err)
	}
	f.mustInit(false, "v1.1.0", "v1.1.0")
	if err := os.Rename(offline, f.repo.Dir); err != nil {
		t.Fatal(err)
	}

	// A newer matching tag does not move a locked module...
	f.release("v1.2.0", false)
	f.mustInit(false, "v1.1.0", "v1.1.0")
	// ...even once its checkout is gone: init fetches the locked commit.
	if err := os.RemoveAll(InstallDir(f.root, "restore")); err != nil {
		t.Fatal(err)
	}
	f.mustInit(false, "v1.1.0", "v1.1.0")
	// -upgrade does.
	f.mustInit(true, "v1.2.0", "v1.2.0")

	// Any constraint syntax go-version takes; v-less tags count too.
	f.write("", ">= 1.0, < 1.2")
	f.mustInit(false, "v1.1.0", "v1.1.0")
	f.commit("1.1.5", map[string]string{"mod/main.hcl": moduleSrc("1.1.5")})
	if err := f.repo.Tag("1.1.5", true); err != nil {
		t.Fatal(err)
	}
	f.mustInit(true, "1.1.5", "1.1.5")
}

func TestInstallRef(t *testing.T) {
	f := newFixture(t)
	f.write("?ref=v2.0.0", "")
	f.mustInit(false, "v2.0.0", "v2.0.0")
	sha := f.commits["v1.0.0"]
	f.write("?ref="+sha, "")
	f.mustInit(false, sha, "v1.0.0")
	f.write("?ref="+sha[:10], "")
	f.mustInit(false, sha[:10], "v1.0.0")
	f.write("?ref="+gittest.Branch, "")
	f.mustInit(false, gittest.Branch, "v2.0.0")
	// Neither ref nor version: the default branch.
	f.write("", "")
	f.mustInit(false, gittest.Branch, "v2.0.0")
}

func TestInstallErrors(t *testing.T) {
	f := newFixture(t)
	for _, tt := range []struct {
		suffix, version string
		summary, detail string
		line, col       int
	}{
		{"", "~> 3.0", "No matching module version", `satisfies the version constraint "~> 3.0". Available versions: v1.0.0, v1.1.0, v2.0.0.`, 7, 13},
		{"?ref=v9.9.9", "", "Module ref not found", `has no tag, branch or commit "v9.9.9"`, 6, 12},
		{"?ref=deadbeef", "", "Module ref not found", `has no tag, branch or commit "deadbeef"`, 6, 12},
		{"?ref=v1.0.0", "~> 1.0", "Conflicting ref and version", `pins ref "v1.0.0" and`, 7, 13},
	} {
		f.write(tt.suffix, tt.version)
		_, diags := f.init(false)
		checkDiag(t, diags, tt.summary, tt.detail, tt.line, tt.col)
	}
	f.write("", "")
	src := strings.Replace(readFile(t, filepath.Join(f.root, "main.hcl")), "repo.git", "missing.git", 1)
	writeFile(t, filepath.Join(f.root, "main.hcl"), src)
	_, diags := f.init(false)
	checkDiag(t, diags, "Module repository unreachable", "repository not found", 6, 12)
}

func TestInstallNested(t *testing.T) {
	f := newFixture(t)
	lib, err := gittest.Open(filepath.Join(t.TempDir(), "lib.git"))
	if err != nil {
		t.Fatal(err)
	}
	libSrc := t.TempDir()
	writeFile(t, filepath.Join(libSrc, "main.hcl"), moduleSrc("lib"))
	libCommit, err := lib.Commit(libSrc, "lib")
	if err != nil {
		t.Fatal(err)
	}
	// The module calls a local module of its own repository, which calls
	// another repository.
	f.commit("nested", map[string]string{
		"mod/main.hcl":    moduleSrc("nested") + "module \"helper\" {\n  source = \"../helper\"\n}\n",
		"helper/main.hcl": "module \"upload\" {\n  source = \"git::" + lib.URL() + "\"\n}\n",
	})
	f.write("?ref="+f.commits["nested"], "")
	lock, diags := f.init(false)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if got := lock["restore.helper.upload"]; got == nil || got.Commit != libCommit || got.Ref != gittest.Branch {
		t.Fatalf("lock = %v", lock)
	}
	cfg, diags := f.resolve()
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	upload := cfg.Modules["restore"].Config.Modules["helper"].Config.Modules["upload"].Config
	if upload.Dir != InstallDir(f.root, "restore.helper.upload") {
		t.Fatalf("nested module loaded from %s", upload.Dir)
	}
}

func TestResolverRefusesWhatInitDidNotInstall(t *testing.T) {
	f := newFixture(t)
	f.write("", "~> 1.0")
	_, diags := f.resolve()
	checkDiag(t, diags, "Module not installed", "run `runbook init`", 6, 12)

	f.mustInit(false, "v1.1.0", "v1.1.0")
	f.write("", "~> 2.0")
	_, diags = f.resolve()
	checkDiag(t, diags, "Module source changed since init", `version "~> 1.0"; the runbook now says source`, 6, 12)

	// The checkout moved to another commit behind the lock's back.
	f.write("", "~> 1.0")
	lock, _ := ReadLock(LockPath(f.root))
	lock["restore"].Commit = f.commits["v1.0.0"]
	if err := WriteLock(LockPath(f.root), lock); err != nil {
		t.Fatal(err)
	}
	_, diags = f.resolve()
	checkDiag(t, diags, "Module source changed since init", "but the lock file records "+f.commits["v1.0.0"], 6, 12)
	// init puts back what the lock file says.
	f.mustInit(false, "v1.1.0", "v1.0.0")
}

func checkDiag(t *testing.T, diags hcl.Diagnostics, summary, detail string, line, col int) {
	t.Helper()
	if len(diags) != 1 || diags[0].Summary != summary || !strings.Contains(diags[0].Detail, detail) {
		t.Fatalf("diagnostics %v, want one %q saying %q", diags, summary, detail)
	}
	if s := diags[0].Subject; s == nil || s.Start.Line != line || s.Start.Column != col || filepath.Base(s.Filename) != "main.hcl" {
		t.Fatalf("%s: at %v, want main.hcl:%d:%d", summary, s, line, col)
	}
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
