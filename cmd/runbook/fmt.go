package main

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/renameio/v2"
	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
	"github.com/rogpeppe/go-internal/diff"
	"github.com/spf13/cobra"

	"github.com/runbook-dev/runbook/dsl"
)

type fmtOptions struct {
	check     bool
	diff      bool
	write     bool
	recursive bool
}

func newFmtCommand(s *streams) *cobra.Command {
	o := &fmtOptions{}
	cmd := &cobra.Command{
		Use:   "fmt [PATH...]",
		Short: "Rewrite runbook files in the canonical style",
		Long: "Fmt rewrites *.hcl files in the canonical HCL style (hclwrite) and lists the files it changed. " +
			"With -check it changes nothing and exits 3 if any file would change.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				args = []string{"."}
			}
			return o.run(s, args)
		},
	}
	cmd.Flags().BoolVar(&o.check, "check", false, "write nothing; exit 3 if a file is not formatted")
	cmd.Flags().BoolVar(&o.diff, "diff", false, "print the changes as a unified diff")
	cmd.Flags().BoolVar(&o.write, "write", true, "write the result back to the files")
	cmd.Flags().BoolVar(&o.recursive, "recursive", false, "also format files in subdirectories")
	return cmd
}

func (o *fmtOptions) run(s *streams, paths []string) error {
	ss := newSession(s)
	var files []string
	for _, p := range paths {
		found, err := o.collect(p)
		if err != nil {
			return err
		}
		files = append(files, found...)
	}
	var diags hcl.Diagnostics
	changed := 0
	for _, f := range files {
		n, fdiags, err := o.format(s, f)
		if err != nil {
			return err
		}
		diags = append(diags, fdiags...)
		changed += n
	}
	if err := ss.reportSources(diags); err != nil {
		return err
	}
	if o.check && changed > 0 {
		return exitCode(3)
	}
	return nil
}

// collect lists the .hcl files at path: the file itself, or those in the
// directory (and below it with -recursive). Hidden directories such as
// .runbook are skipped.
func (o *fmtOptions) collect(path string) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot read %s: %w", path, err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != path && (!o.recursive || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(p, ".hcl") {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

// format formats one file and reports whether it changed (1) or not (0).
// A file with syntax errors is reported and left alone.
func (o *fmtOptions) format(s *streams, name string) (int, hcl.Diagnostics, error) {
	src, diags := dsl.ReadSource(name)
	if diags.HasErrors() {
		return 0, diags, nil
	}
	if d := dsl.CheckNesting(src, name); d != nil {
		return 0, hcl.Diagnostics{d}, nil
	}
	if _, diags := hclsyntax.ParseConfig(src, name, hcl.InitialPos); diags.HasErrors() {
		return 0, diags, nil
	}
	out := hclwrite.Format(src)
	if bytes.Equal(src, out) {
		return 0, nil, nil
	}
	fmt.Fprintln(s.out, name)
	if o.diff {
		_, _ = s.out.Write(diff.Diff(name, src, name, out))
	}
	if o.write && !o.check {
		info, err := os.Stat(name)
		if err != nil {
			return 0, nil, err
		}
		// A synced temporary file renamed over the original, keeping its
		// mode: an interrupted fmt never leaves half a runbook behind.
		if err := renameio.WriteFile(name, out, info.Mode().Perm()); err != nil {
			return 0, nil, fmt.Errorf("writing %s: %w", name, err)
		}
	}
	return 1, nil, nil
}
