package core_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/provider"
)

func writeFile(t *testing.T, dir, name, content string, mode os.FileMode) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte(content), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, mode); err != nil { // not subject to the umask
		t.Fatal(err)
	}
	return path
}

func assertNoFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s exists (or: %v)", path, err)
	}
}

// names lists a directory, sorted.
func names(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	slices.Sort(out)
	return out
}

func TestFileCopy(t *testing.T) {
	src := t.TempDir()
	const content = "manager snapshot\n"
	source := writeFile(t, src, "snap.zip", content, 0o640)
	exec := writeFile(t, src, "tool.sh", "#!/bin/sh\n", 0o750)

	tests := []struct {
		name     string
		source   string
		dest     string // relative to a fresh destination directory; "." is the directory itself
		existing string // content already at dest, if any
		mode     string
		wantPath string // relative
		wantMode os.FileMode
	}{
		{name: "new file keeps the source's mode", source: source, dest: "copy.zip", wantPath: "copy.zip", wantMode: 0o640},
		{name: "executable", source: exec, dest: "tool", wantPath: "tool", wantMode: 0o750},
		{name: "explicit mode", source: source, dest: "copy.zip", mode: "0600", wantPath: "copy.zip", wantMode: 0o600},
		{name: "explicit mode without a leading zero", source: source, dest: "copy.zip", mode: "644", wantPath: "copy.zip", wantMode: 0o644},
		{name: "replaces a file", source: source, dest: "copy.zip", existing: "old content, longer than the new one", wantPath: "copy.zip", wantMode: 0o640},
		{name: "into a directory", source: source, dest: ".", wantPath: "snap.zip", wantMode: 0o640},
	}
	p := core.New(core.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			dest := filepath.Join(dst, tt.dest)
			if tt.existing != "" {
				writeFile(t, dst, tt.dest, tt.existing, 0o666)
			}
			set := map[string]cty.Value{"source": cty.StringVal(tt.source), "destination": cty.StringVal(dest)}
			if tt.mode != "" {
				set["mode"] = cty.StringVal(tt.mode)
			}
			var ev events
			r := request(t, "file_copy", set)
			r.Events = ev.add
			out := mustApply(t, p, r)
			if !out.Type().Equals(core.Schema().Actions["file_copy"].OutputType()) {
				t.Errorf("type %#v", out.Type())
			}
			want := filepath.Join(dst, tt.wantPath)
			if got := str(t, out, "path"); got != want {
				t.Errorf("path = %s, want %s", got, want)
			}
			srcBytes, _ := os.ReadFile(tt.source)
			got, err := os.ReadFile(want)
			if err != nil || !bytes.Equal(got, srcBytes) {
				t.Errorf("copy holds %q (%v), want %q", got, err, srcBytes)
			}
			if got := str(t, out, "sha256"); got != digest(string(srcBytes)) {
				t.Errorf("sha256 = %s", got)
			}
			if got := num(t, out, "size"); got != int64(len(srcBytes)) {
				t.Errorf("size = %d", got)
			}
			fi, _ := os.Stat(want)
			if fi.Mode().Perm() != tt.wantMode {
				t.Errorf("mode %o, want %o", fi.Mode().Perm(), tt.wantMode)
			}
			// Atomic: no temporary file is left beside the copy.
			if got := names(t, dst); !slices.Equal(got, []string{tt.wantPath}) {
				t.Errorf("destination directory holds %q, want only %q", got, tt.wantPath)
			}
			if pr := ev.progress(); len(pr) == 0 || pr[len(pr)-1].Done != int64(len(srcBytes)) || pr[len(pr)-1].Unit != "bytes" {
				t.Errorf("progress events %+v", pr)
			}
			// Check sees the copy in place, from the files alone.
			resp, err := p.Check(context.Background(), &provider.CheckRequest{Request: *r, Started: time.Now()})
			if err != nil || resp.Result != provider.Applied || !resp.Outputs.RawEquals(out) {
				t.Errorf("Check = %+v, %v; want Applied with %#v", resp, err, out)
			}
		})
	}
}

func TestFileCopyFailures(t *testing.T) {
	src := t.TempDir()
	source := writeFile(t, src, "snap.zip", "data", 0o644)
	link := filepath.Join(src, "link.zip")
	if err := os.Link(source, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		source   string
		dest     string // "DST/" is replaced by the fresh destination directory
		mode     string
		contains []string
	}{
		{name: "onto itself", source: source, dest: source, contains: []string{"onto itself"}},
		{name: "onto itself, other spelling", source: source, dest: src + "/./snap.zip", contains: []string{"onto itself"}},
		{name: "onto a hard link of itself", source: source, dest: link, contains: []string{"onto itself"}},
		{name: "into its own directory", source: source, dest: src, contains: []string{"onto itself"}},
		{name: "missing source", source: src + "/nope", dest: "DST/x", contains: []string{"does not exist"}},
		{name: "source is a directory", source: src, dest: "DST/x", contains: []string{"not a regular file"}},
		{name: "missing destination directory", source: source, dest: "DST/sub/x", contains: []string{"destination directory", "does not exist"}},
		{name: "bad mode", source: source, dest: "DST/x", mode: "rw-r--r--", contains: []string{"not an octal file mode"}},
		{name: "mode too large", source: source, dest: "DST/x", mode: "017777", contains: []string{"not an octal file mode"}},
	}
	p := core.New(core.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			dest := strings.Replace(tt.dest, "DST", dst, 1)
			set := map[string]cty.Value{"source": cty.StringVal(tt.source), "destination": cty.StringVal(dest)}
			if tt.mode != "" {
				set["mode"] = cty.StringVal(tt.mode)
			}
			_, err := apply(t, p, request(t, "file_copy", set))
			wantErr(t, err, false, tt.contains...)
			if got := names(t, dst); len(got) != 0 {
				t.Errorf("destination directory holds %q after a failure", got)
			}
			if b, _ := os.ReadFile(source); string(b) != "data" {
				t.Errorf("the source changed: %q", b)
			}
		})
	}
}

// A copy interrupted midway leaves nothing under the final name (and no
// temporary file), and an existing destination untouched.
func TestFileCopyInterrupted(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	big := bytes.Repeat([]byte("0123456789abcdef"), 3<<20/16) // 3 MiB: several progress steps
	source := filepath.Join(src, "big")
	if err := os.WriteFile(source, big, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, existing := range []bool{false, true} {
		dest := filepath.Join(dst, "big")
		if existing {
			writeFile(t, dst, "big", "previous", 0o644)
		}
		ctx, cancel := context.WithCancel(context.Background())
		r := request(t, "file_copy", map[string]cty.Value{"source": cty.StringVal(source), "destination": cty.StringVal(dest)})
		r.Events = func(ev provider.Event) {
			if ev.Kind == provider.EventProgress {
				cancel() // after the first chunk
			}
		}
		_, err := core.New(core.Options{}).Apply(ctx, r)
		cancel()
		wantErr(t, err, false, "cancelled")
		if !existing {
			if got := names(t, dst); len(got) != 0 {
				t.Errorf("destination directory holds %q", got)
			}
			continue
		}
		if got := names(t, dst); !slices.Equal(got, []string{"big"}) {
			t.Errorf("destination directory holds %q", got)
		}
		if b, _ := os.ReadFile(dest); string(b) != "previous" {
			t.Errorf("the existing destination was changed: %d bytes", len(b))
		}
	}
}

// An unwritable destination directory fails cleanly.
func TestFileCopyUnwritable(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("root writes anywhere")
	}
	src, dst := t.TempDir(), t.TempDir()
	source := writeFile(t, src, "f", "x", 0o644)
	if err := os.Chmod(dst, 0o555); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(dst, 0o755)
	_, err := apply(t, core.New(core.Options{}), request(t, "file_copy", map[string]cty.Value{
		"source": cty.StringVal(source), "destination": cty.StringVal(filepath.Join(dst, "f")),
	}))
	wantErr(t, err, false, "temporary file")
}

// Plan copies nothing; it knows the path, validates like Apply, and Check
// tells a missing or different destination from a done copy.
func TestFileCopyPlanAndCheck(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	source := writeFile(t, src, "f", "content", 0o644)
	dest := filepath.Join(dst, "f")
	p := core.New(core.Options{})
	r := request(t, "file_copy", map[string]cty.Value{"source": cty.StringVal(source), "destination": cty.StringVal(dest)})

	out, err := plan(t, p, r)
	if err != nil {
		t.Fatal(err)
	}
	if got := out.GetAttr("path"); !got.RawEquals(cty.StringVal(dest)) {
		t.Errorf("planned path %#v", got)
	}
	if out.GetAttr("sha256").IsKnown() || out.GetAttr("size").IsKnown() {
		t.Errorf("plan predicted the digest: %#v", out)
	}
	assertNoFile(t, dest)
	if got := names(t, dst); len(got) != 0 {
		t.Errorf("Plan wrote %q", got)
	}
	_, err = plan(t, p, request(t, "file_copy", map[string]cty.Value{"source": cty.StringVal(source), "destination": cty.StringVal(source)}))
	wantErr(t, err, false, "onto itself")
	_, err = plan(t, p, request(t, "file_copy", map[string]cty.Value{"source": cty.StringVal(source), "destination": cty.StringVal(dest), "mode": cty.StringVal("999")}))
	wantErr(t, err, false, "not an octal file mode")

	check := func(want provider.CheckResult, req *provider.Request) {
		t.Helper()
		resp, err := p.Check(context.Background(), &provider.CheckRequest{Request: *req})
		if err != nil || resp.Result != want {
			t.Errorf("Check = %+v, %v; want %v", resp, err, want)
		}
	}
	check(provider.NotApplied, r) // missing
	writeFile(t, dst, "f", "other!!", 0o644)
	check(provider.NotApplied, r) // same size, different content
	writeFile(t, dst, "f", "content", 0o600)
	check(provider.NotApplied, r) // same content, different mode
	writeFile(t, dst, "f", "content", 0o644)
	check(provider.Applied, r)
	withMode := request(t, "file_copy", map[string]cty.Value{"source": cty.StringVal(source), "destination": cty.StringVal(dest), "mode": cty.StringVal("0600")})
	check(provider.NotApplied, withMode)
}

// expect_sha256 is compared, in either case, with the digest of the bytes
// read; a mismatch copies nothing, and retrying would not change the
// source.
func TestFileCopyExpectSHA256(t *testing.T) {
	src := t.TempDir()
	source := writeFile(t, src, "backup.tgz", "the backup", 0o644)
	sum := digest("the backup")
	p := core.New(core.Options{})
	for _, expect := range []string{sum, strings.ToUpper(sum), "sha256:" + sum} {
		dest := filepath.Join(t.TempDir(), "copy")
		out := mustApply(t, p, request(t, "file_copy", map[string]cty.Value{
			"source": cty.StringVal(source), "destination": cty.StringVal(dest), "expect_sha256": cty.StringVal(expect),
		}))
		if got := str(t, out, "sha256"); got != sum {
			t.Errorf("expect %s: sha256 = %s", expect, got)
		}
	}

	dst := t.TempDir()
	dest := writeFile(t, dst, "copy", "the previous copy", 0o644)
	wrong := digest("what the backup step recorded")
	r := request(t, "file_copy", map[string]cty.Value{
		"source": cty.StringVal(source), "destination": cty.StringVal(dest), "expect_sha256": cty.StringVal(strings.ToUpper(wrong)),
	})
	_, err := apply(t, p, r)
	wantErr(t, err, false, "checksum mismatch", source, "expected sha256 "+wrong, "got "+sum)
	if b, _ := os.ReadFile(dest); string(b) != "the previous copy" {
		t.Errorf("the destination changed: %q", b)
	}
	if got := names(t, dst); !slices.Equal(got, []string{"copy"}) {
		t.Errorf("the destination directory holds %q", got)
	}
	// Check does not call a copy of the wrong bytes done.
	writeFile(t, dst, "copy", "the backup", 0o644)
	if resp, err := p.Check(context.Background(), &provider.CheckRequest{Request: *r}); err != nil || resp.Result != provider.NotApplied {
		t.Errorf("Check = %+v, %v; want NotApplied", resp, err)
	}

	_, err = apply(t, p, request(t, "file_copy", map[string]cty.Value{
		"source": cty.StringVal(source), "destination": cty.StringVal(dest), "expect_sha256": cty.StringVal("abc"),
	}))
	wantErr(t, err, false, "expect_sha256", "not a sha256 digest")
}
