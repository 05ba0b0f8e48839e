package securitytest

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
)

// TestFileModes runs init, plan -out and apply of manager-snapshot-daily
// (a runbook with a plugin, so that init writes a lock file) under umask
// 022 and 000, and checks what each file the CLI creates is allowed:
//
//   - the state directory .runbook and its runs/ are 0700; the journal,
//     journal.key, lock and lock.info (read while the run holds it) are
//     0600, and nothing in the state directory is readable by others;
//   - the plan file is 0600, also when it replaces a file that was 0666:
//     it names hosts and paths, and sensitive values' salted hashes;
//   - .runbook.lock.hcl is 0644: it is meant to be committed (init says
//     so, like Terraform's .terraform.lock.hcl) and holds only provider
//     and module versions, checksums and paths.
//
// A file the runbook's own command writes (the daily archive's .sha256,
// by the shell) follows the umask: that proves the umask reached the run.
func TestFileModes(t *testing.T) {
	b := binaries(t)
	for _, umask := range []os.FileMode{0o022, 0o000} {
		t.Run(fmt.Sprintf("umask %03o", umask), func(t *testing.T) {
			t.Parallel()
			work := t.TempDir()
			rb := filepath.Join(work, "rb")
			copyDir(t, filepath.Join(repoRoot, "runbooks", "manager-snapshot-daily"), rb)
			srv, url := managerSim(t, &simmanager.Estate{}, "admin")
			// The first API call takes a second: lock.info is read while
			// the run holds the state.
			if err := srv.SetFaults(simmanager.Faults{Rules: []simmanager.FaultRule{
				{PathPrefix: "/api/v3.1/", Latency: "1s", LatencyRate: 1, Times: 1},
			}}); err != nil {
				t.Fatal(err)
			}
			env := append(cleanEnv(), "XDG_CACHE_HOME="+filepath.Join(work, "cache"), "RUNBOOK_VAR_admin_password=admin")
			c := &cli{t: t, bin: b.runbook, dir: rb, env: env, out: &transcript{},
				wrap: []string{"/bin/sh", "-c", fmt.Sprintf(`umask %03o && exec "$0" "$@"`, umask)}}
			backups := filepath.Join(work, "backups")
			plan := filepath.Join(work, "run.plan")
			if err := os.WriteFile(plan, nil, 0o666); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(plan, 0o666); err != nil { // whatever the test's own umask
				t.Fatal(err)
			}

			c.mustRun("init", 0, nil, nil, "init")
			c.mustRun("plan", 0, nil, nil, "plan", "-var-file", "drill.vars.hcl", "-var", "endpoint="+url, "-var", "backup_dir="+backups, "-out", plan)
			var mu sync.Mutex
			held := map[string]fs.FileMode{}
			onLine := func(line []byte) {
				var ev event
				if json.Unmarshal(line, &ev) != nil || ev.Type != "step_started" {
					return
				}
				mu.Lock()
				defer mu.Unlock()
				for _, f := range []string{"lock", "lock.info"} {
					if _, seen := held[f]; !seen {
						if fi, err := os.Stat(filepath.Join(rb, ".runbook", f)); err == nil {
							held[f] = fi.Mode()
						}
					}
				}
			}
			c.mustRun("apply", 0, nil, onLine, "apply", "--auto-approve", "--json", plan)

			want := map[string]fs.FileMode{
				".runbook.lock.hcl":    0o644,
				".runbook":             fs.ModeDir | 0o700,
				".runbook/runs":        fs.ModeDir | 0o700,
				".runbook/journal.key": 0o600,
				".runbook/lock":        0o600,
			}
			for rel, w := range want {
				fi, err := os.Stat(filepath.Join(rb, filepath.FromSlash(rel)))
				if err != nil {
					t.Errorf("%s: %v", rel, err)
				} else if fi.Mode() != w {
					t.Errorf("%s is %s, want %s", rel, fi.Mode(), w)
				}
			}
			if fi, err := os.Stat(plan); err != nil || fi.Mode() != 0o600 {
				t.Errorf("the plan file: %v %v, want -rw-------", fi.Mode(), err)
			}
			mu.Lock()
			for _, f := range []string{"lock", "lock.info"} {
				if m, ok := held[f]; !ok {
					t.Errorf("%s was not there while the run held the state", f)
				} else if m != 0o600 {
					t.Errorf("%s is %s while the run holds the state, want -rw-------", f, m)
				}
			}
			mu.Unlock()
			journals, _ := filepath.Glob(filepath.Join(rb, ".runbook", "runs", "*.journal"))
			if len(journals) != 1 {
				t.Fatalf("journals: %v", journals)
			}
			// Nothing under the state directory is open to group or others.
			err := filepath.WalkDir(filepath.Join(rb, ".runbook"), func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				fi, err := d.Info()
				if err != nil {
					return err
				}
				if fi.Mode().Perm()&0o077 != 0 {
					t.Errorf("%s is %s: open to group or others", p, fi.Mode())
				}
				if !d.IsDir() && fi.Mode().Perm() != 0o600 {
					t.Errorf("%s is %s, want -rw-------", p, fi.Mode())
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			sums, _ := filepath.Glob(filepath.Join(backups, "*.zip.sha256"))
			if len(sums) != 1 {
				t.Fatalf("checksum files in the backup directory: %v", sums)
			}
			if fi, err := os.Stat(sums[0]); err != nil || fi.Mode().Perm() != 0o666&^umask {
				t.Errorf("the shell's %s is %v (%v), want %s: the umask did not reach the run", filepath.Base(sums[0]), fi.Mode(), err, 0o666&^umask)
			}
		})
	}
}
