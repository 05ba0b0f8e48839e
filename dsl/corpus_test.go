package dsl_test

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/plugins/core"
)

// The corpus under testdata/invalid holds one malformed runbook per case: a
// file NNN-name.hcl, or a directory NNN-name/ (several files, modules, JSON
// files, variable files). The leading comment lines of every *.hcl file of a
// case are its golden data:
//
//	# ERROR: <diagnostic summary> @ <line>:<column>
//	# WARNING: <diagnostic summary> @ <line>:<column>
//	# SKIP: <known defect, reported and not fixed yet>
//
// line:column is the diagnostic's Subject.Start. It refers to the file that
// holds the marker unless a path relative to the case is given, as in
// `@ modules/restore/main.hcl:3:5`. Errors are always compared exactly;
// warnings only in cases that assert at least one. In a directory case, the
// files under varfiles/ are passed to ResolveVariables as -var-file
// arguments (in name order) once loading and validation found no error.

const corpusDir = "../testdata/invalid"

var markerRE = regexp.MustCompile(`^#\s*(ERROR|WARNING|SKIP):\s*(.*?)\s*$`)
var posRE = regexp.MustCompile(`^(.*?)\s+@\s+(?:(\S+):)?(\d+):(\d+)$`)
var caseNameRE = regexp.MustCompile(`^\d{3}-[a-z0-9-]+(\.hcl)?$`)

type corpusCase struct {
	name     string
	path     string // the file or directory to load
	root     string // directory that marker file names are relative to
	errors   []string
	warnings []string
	skip     string
	varFiles []string
}

func loadCorpus(t testing.TB) []*corpusCase {
	t.Helper()
	entries, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var cases []*corpusCase
	for _, e := range entries {
		name := e.Name()
		if !caseNameRE.MatchString(name) {
			t.Fatalf("corpus entry %s is not named NNN-short-description.hcl or NNN-short-description/", name)
		}
		c := &corpusCase{name: strings.TrimSuffix(name, ".hcl"), path: filepath.Join(corpusDir, name)}
		var markerFiles []string
		if e.IsDir() {
			c.root = c.path
			err := filepath.WalkDir(c.path, func(p string, d os.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && strings.HasSuffix(p, ".hcl") {
					markerFiles = append(markerFiles, p)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			c.varFiles, _ = filepath.Glob(filepath.Join(c.path, "varfiles", "*"))
			sort.Strings(c.varFiles)
		} else {
			c.root = corpusDir
			markerFiles = []string{c.path}
		}
		for _, f := range markerFiles {
			readMarkers(t, c, f)
		}
		if len(c.errors) == 0 {
			t.Fatalf("corpus case %s asserts no error: every case must be invalid", name)
		}
		cases = append(cases, c)
	}
	return cases
}

// readMarkers reads the marker lines at the top of file.
func readMarkers(t testing.TB, c *corpusCase, file string) {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(c.root, file)
	sc := bufio.NewScanner(bytes.NewReader(src))
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "#") {
			break // markers head the file
		}
		m := markerRE.FindStringSubmatch(line)
		if m == nil {
			continue // an ordinary comment
		}
		if m[1] == "SKIP" {
			c.skip = m[2]
			continue
		}
		p := posRE.FindStringSubmatch(m[2])
		if p == nil {
			t.Fatalf("%s: marker %q has no \"@ LINE:COLUMN\"", file, line)
		}
		where := rel
		if p[2] != "" {
			where = filepath.Clean(p[2])
		}
		key := fmt.Sprintf("%s @ %s:%s:%s", p[1], filepath.ToSlash(where), p[3], p[4])
		if m[1] == "ERROR" {
			c.errors = append(c.errors, key)
		} else {
			c.warnings = append(c.warnings, key)
		}
	}
}

// runCase loads, validates and (for cases with variable files) resolves
// variables the way `runbook validate` would.
func runCase(c *corpusCase) hcl.Diagnostics {
	loader := dsl.NewLoader()
	cfg, diags := loader.Load(c.path)
	if diags.HasErrors() {
		return diags
	}
	diags = append(diags, dsl.Validate(cfg, dsl.Schemas{"core": core.Schema()})...)
	if diags.HasErrors() || len(c.varFiles) == 0 {
		return diags
	}
	var args []dsl.VarArg
	for _, f := range c.varFiles {
		args = append(args, dsl.VarArg{File: true, Value: f})
	}
	_, vdiags := loader.ResolveVariables(cfg, nil, args)
	return append(diags, vdiags...)
}

func diagKey(root string, d *hcl.Diagnostic) string {
	if d.Subject == nil {
		return d.Summary + " @ <no subject>"
	}
	file := d.Subject.Filename
	if rel, err := filepath.Rel(root, file); err == nil {
		file = rel
	}
	return fmt.Sprintf("%s @ %s:%d:%d", d.Summary, filepath.ToSlash(file), d.Subject.Start.Line, d.Subject.Start.Column)
}

func TestInvalidCorpus(t *testing.T) {
	cases := loadCorpus(t)
	if len(cases) < 45 {
		t.Errorf("the corpus has %d cases, want at least 45", len(cases))
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var diags hcl.Diagnostics
			within(t, 10*time.Second, func() { diags = runCase(c) })
			var gotErrs, gotWarns []string
			for _, d := range diags {
				key := diagKey(c.root, d)
				if d.Severity == hcl.DiagError {
					gotErrs = append(gotErrs, key)
					if d.Subject == nil {
						t.Errorf("error %q has no source range", d.Summary)
					} else if st, err := os.Stat(d.Subject.Filename); err != nil || st.IsDir() {
						t.Errorf("error %q names %q, which is not a file", d.Summary, d.Subject.Filename)
					}
				} else {
					gotWarns = append(gotWarns, key)
				}
			}
			mismatch := diffSets("error", c.errors, gotErrs)
			if len(c.warnings) > 0 {
				mismatch = append(mismatch, diffSets("warning", c.warnings, gotWarns)...)
			}
			if c.skip != "" {
				if len(mismatch) == 0 {
					t.Fatalf("known defect %q no longer shows: remove the SKIP marker", c.skip)
				}
				t.Skipf("known defect: %s (%s)", c.skip, strings.Join(mismatch, "; "))
			}
			for _, m := range mismatch {
				t.Error(m)
			}
			if t.Failed() {
				t.Logf("all diagnostics:\n%s", formatDiags(c.root, diags))
			}
		})
	}
}

// diffSets compares two multisets of "summary @ file:line:col" keys.
func diffSets(kind string, want, got []string) []string {
	want, got = slices.Sorted(slices.Values(want)), slices.Sorted(slices.Values(got))
	var out []string
	for _, w := range want {
		if i := slices.Index(got, w); i >= 0 {
			got = slices.Delete(got, i, i+1)
		} else {
			out = append(out, fmt.Sprintf("missing %s: %s", kind, w))
		}
	}
	for _, g := range got {
		out = append(out, fmt.Sprintf("unexpected %s: %s", kind, g))
	}
	return out
}

func formatDiags(root string, diags hcl.Diagnostics) string {
	var b strings.Builder
	for _, d := range diags {
		sev := "ERROR"
		if d.Severity == hcl.DiagWarning {
			sev = "WARNING"
		}
		fmt.Fprintf(&b, "# %s: %s\n#   %s\n", sev, diagKey(root, d), d.Detail)
	}
	return b.String()
}
