package runbook_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/runbook"
)

// FuzzReadPlanFile feeds arbitrary bytes to the plan file reader that
// `runbook apply PLANFILE` uses, and what it accepts to everything apply
// then does with a plan file: Planned, Vars and ChangedFiles. Nothing may
// panic; Vars returns, for a sensitive variable, only the value given
// again (and only when it matches the salted hash), and for the others the
// planned value; a plan file that reads is written back (0600) and reads
// again to the same document. Seeds are real plan files
// (testdata/planfiles, from `runbook plan -out`).
//
//	go test ./runbook -run '^$' -fuzz '^FuzzReadPlanFile$' -fuzztime 60s -fuzzminimizetime 1s
func FuzzReadPlanFile(f *testing.F) {
	paths, err := filepath.Glob(filepath.Join("testdata", "planfiles", "*.json"))
	if err != nil || len(paths) == 0 {
		f.Fatalf("no seed plan files under testdata/planfiles: %v", err)
	}
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if _, err := runbook.ReadPlanFile(p); err != nil {
			f.Fatalf("seed %s: %v", p, err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
		f.Add(bytes.Replace(b, []byte(`"format_version": "1.0"`), []byte(`"format_version": "2.0"`), 1))
		f.Add(bytes.ReplaceAll(b, []byte(`"sensitive": true`), []byte(`"sensitive": false`)))
	}
	f.Add([]byte(`{"format_version": "1", "variables": {"x": {"type": "dynamic", "value": {"value": 1, "type": "number"}}}}`))
	f.Add([]byte(`{"format_version": "1.0", "variables": {"s": {"type": "string", "sensitive": true, "salt": "zz", "sha256": ""}}}`))
	cfg, diags := dsl.NewLoader().Load(filepath.Join("testdata", "plan", "basic"))
	if diags.HasErrors() {
		f.Fatal(diags.Error())
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		in, out := filepath.Join(dir, "in.plan"), filepath.Join(dir, "out.plan")
		if err := os.WriteFile(in, data, 0o600); err != nil {
			t.Fatal(err)
		}
		pf, err := runbook.ReadPlanFile(in)
		if err != nil {
			return
		}
		if pf.FormatVersion == "" || pf.FormatVersion[0] != runbook.PlanFormatVersion[0] {
			t.Fatalf("read a plan file of format %q", pf.FormatVersion)
		}
		_, _ = pf.ChangedFiles(cfg)
		planned, perr := pf.Planned()
		given := map[string]cty.Value{}
		for name, pv := range pf.Variables {
			if pv.Sensitive {
				given[name] = cty.StringVal("fuzz-given-" + name).Mark("sensitive")
			}
		}
		vars, verr := pf.Vars(given)
		if verr == nil {
			for name, pv := range pf.Variables {
				got, ok := vars[name]
				switch {
				case !ok:
					t.Fatalf("Vars left out %q", name)
				case pv.Sensitive && !got.RawEquals(given[name]):
					t.Fatalf("Vars returned %#v for the sensitive %q, not the value given", got, name)
				case !pv.Sensitive && perr == nil && !got.RawEquals(planned[name]):
					t.Fatalf("Vars returned %#v for %q, planned %#v", got, name, planned[name])
				}
			}
		}
		if err := pf.Write(out); err != nil {
			return // not a document runbook plan writes (a time it cannot format)
		}
		if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("written plan file: %v %v", fi.Mode(), err)
		}
		again, err := runbook.ReadPlanFile(out)
		if err != nil {
			t.Fatalf("a plan file written from one that read does not read: %v", err)
		}
		b1, err1 := json.Marshal(pf)
		b2, err2 := json.Marshal(again)
		if err1 != nil || err2 != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("round trip changed the plan file (%v, %v):\n%s\n%s", err1, err2, b1, b2)
		}
	})
}
