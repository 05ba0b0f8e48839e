package core_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/provider"
)

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

func TestChecksum(t *testing.T) {
	dir := t.TempDir()
	const content = "snapshot bytes\n"
	file := writeFile(t, dir, "snap.zip", content, 0o644)
	empty := writeFile(t, dir, "empty", "", 0o644)
	want := digest(content)
	other := digest("something else")

	tests := []struct {
		name      string
		set       map[string]cty.Value
		wantSum   string
		wantSize  int64
		wantErr   []string
		wantAttr  string
		planKnown bool
	}{
		{name: "digest", set: map[string]cty.Value{"path": cty.StringVal(file)}, wantSum: want, wantSize: int64(len(content)), planKnown: true},
		{name: "empty file", set: map[string]cty.Value{"path": cty.StringVal(empty)}, wantSum: digest(""), planKnown: true},
		{name: "expected matches", set: map[string]cty.Value{"path": cty.StringVal(file), "sha256": cty.StringVal(strings.ToUpper(want))}, wantSum: want, wantSize: int64(len(content)), planKnown: true},
		{name: "expected with prefix", set: map[string]cty.Value{"path": cty.StringVal(file), "sha256": cty.StringVal("sha256:" + want)}, wantSum: want, wantSize: int64(len(content)), planKnown: true},
		{name: "mismatch", set: map[string]cty.Value{"path": cty.StringVal(file), "sha256": cty.StringVal(other)},
			wantErr: []string{"checksum mismatch", file, "expected sha256 " + other, "got " + want}, wantAttr: "sha256"},
		{name: "missing file", set: map[string]cty.Value{"path": cty.StringVal(filepath.Join(dir, "nope"))}, wantErr: []string{"does not exist"}, wantAttr: "path"},
		{name: "directory", set: map[string]cty.Value{"path": cty.StringVal(dir)}, wantErr: []string{"not a regular file"}, wantAttr: "path"},
		{name: "bad digest", set: map[string]cty.Value{"path": cty.StringVal(file), "sha256": cty.StringVal("abc")}, wantErr: []string{"not a sha256 digest"}, wantAttr: "sha256"},
	}
	p := core.New(core.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request(t, "checksum", tt.set)
			out, err := apply(t, p, r)
			if tt.wantErr != nil {
				wantErr(t, err, false, tt.wantErr...)
				var pe *provider.Error
				errors.As(err, &pe)
				if len(pe.Attribute) != 1 || pe.Attribute[0] != (cty.GetAttrStep{Name: tt.wantAttr}) {
					t.Errorf("Attribute = %#v, want %s", pe.Attribute, tt.wantAttr)
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				if got := str(t, out, "sha256"); got != tt.wantSum {
					t.Errorf("sha256 = %s, want %s", got, tt.wantSum)
				}
				if got := num(t, out, "size"); got != tt.wantSize {
					t.Errorf("size = %d, want %d", got, tt.wantSize)
				}
				if !out.Type().Equals(core.Schema().Actions["checksum"].OutputType()) {
					t.Errorf("type %#v", out.Type())
				}
			}

			// Plan computes what it can read, and otherwise predicts
			// unknowns (an earlier step may produce the file); only
			// invalid inputs fail it.
			pout, perr := plan(t, p, r)
			if tt.name == "bad digest" {
				wantErr(t, perr, false, "not a sha256 digest")
				return
			}
			if perr != nil {
				t.Fatalf("Plan: %v", perr)
			}
			if pout.IsWhollyKnown() != tt.planKnown {
				t.Errorf("Plan = %#v, known %v", pout, tt.planKnown)
			}
			if tt.planKnown && !pout.RawEquals(out) {
				t.Errorf("Plan = %#v, Apply = %#v", pout, out)
			}
		})
	}
}

func TestChecksumPlanWarnsOnMismatch(t *testing.T) {
	file := writeFile(t, t.TempDir(), "f", "old", 0o644)
	var ev events
	r := request(t, "checksum", map[string]cty.Value{"path": cty.StringVal(file), "sha256": cty.StringVal(digest("new"))})
	r.Events = ev.add
	if _, err := core.New(core.Options{}).Plan(context.Background(), r); err != nil {
		t.Fatal(err)
	}
	if logs := strings.Join(ev.logs(), "\n"); !strings.Contains(logs, "warn: ") || !strings.Contains(logs, digest("new")) {
		t.Errorf("no warning: %q", logs)
	}
}
