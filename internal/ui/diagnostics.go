package ui

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// Diagnostics writes each diagnostic as Terraform does: severity and
// summary, file:line:col, the source line with the range underlined, then
// the detail. files maps file names to their parsed sources.
func Diagnostics(w io.Writer, diags hcl.Diagnostics, files map[string]*hcl.File) {
	for _, d := range diags {
		Diagnostic(w, d, files)
	}
}

// SortDiagnostics orders diagnostics by file and position; those without a
// source range (about flags or the environment) come first.
func SortDiagnostics(diags hcl.Diagnostics) hcl.Diagnostics {
	out := append(hcl.Diagnostics(nil), diags...)
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Subject, out[j].Subject
		switch {
		case a == nil || b == nil:
			return a == nil && b != nil
		case a.Filename != b.Filename:
			return a.Filename < b.Filename
		}
		return a.Start.Byte < b.Start.Byte
	})
	return out
}

// Diagnostic writes one diagnostic.
func Diagnostic(w io.Writer, d *hcl.Diagnostic, files map[string]*hcl.File) {
	sev := "Error"
	if d.Severity == hcl.DiagWarning {
		sev = "Warning"
	}
	fmt.Fprintf(w, "%s: %s\n\n", sev, d.Summary)
	if d.Subject != nil {
		fmt.Fprintf(w, "  on %s:%d:%d:\n", d.Subject.Filename, d.Subject.Start.Line, d.Subject.Start.Column)
		if f := files[d.Subject.Filename]; f != nil {
			writeSnippet(w, f.Bytes, *d.Subject)
		}
		fmt.Fprintln(w)
	}
	if d.Detail != "" {
		fmt.Fprintf(w, "%s\n\n", d.Detail)
	}
}

// writeSnippet prints the subject's first line and underlines the subject
// (to the end of that line when it spans several).
func writeSnippet(w io.Writer, src []byte, rng hcl.Range) {
	start := rng.Start.Byte
	if start < 0 || start > len(src) {
		return
	}
	lineStart := bytes.LastIndexByte(src[:start], '\n') + 1
	lineEnd := bytes.IndexByte(src[start:], '\n')
	if lineEnd < 0 {
		lineEnd = len(src)
	} else {
		lineEnd += start
	}
	line := strings.TrimRight(string(src[lineStart:lineEnd]), "\r")
	end := rng.End.Byte
	if end > lineEnd || rng.End.Line != rng.Start.Line {
		end = lineEnd
	}
	if end < start {
		end = start
	}
	prefix := fmt.Sprintf("  %d: ", rng.Start.Line)
	fmt.Fprintf(w, "%s%s\n", prefix, strings.ToValidUTF8(line, "\uFFFD"))
	pad := visualWidth(src[lineStart:start])
	width := visualWidth(src[start:end])
	if width < 1 {
		width = 1
	}
	fmt.Fprintf(w, "%s%s\n", strings.Repeat(" ", len(prefix)+pad), strings.Repeat("^", width))
}

// visualWidth counts characters; a tab counts as one, as the line is
// printed unchanged.
func visualWidth(b []byte) int {
	n := 0
	for len(b) > 0 {
		_, size := utf8.DecodeRune(b)
		b = b[size:]
		n++
	}
	return n
}
