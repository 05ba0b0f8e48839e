package runbook_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/runbook-dev/runbook/runbook"
)

// TestPlanFileWriteMode: a plan file is 0600 also when it replaces a file
// that was readable by others (renameio.WriteFile would keep that mode).
func TestPlanFileWriteMode(t *testing.T) {
	dir := t.TempDir()
	for _, existing := range []os.FileMode{0, 0o644, 0o666} {
		path := filepath.Join(dir, "run.plan")
		_ = os.Remove(path)
		if existing != 0 {
			if err := os.WriteFile(path, []byte("old"), existing); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, existing); err != nil {
				t.Fatal(err)
			}
		}
		pf := &runbook.PlanFile{FormatVersion: runbook.PlanFormatVersion}
		if err := pf.Write(path); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o600 {
			t.Errorf("over a file of mode %04o: the plan file is %s, want -rw-------", existing, fi.Mode())
		}
		if _, err := runbook.ReadPlanFile(path); err != nil {
			t.Errorf("over a file of mode %04o: %v", existing, err)
		}
	}
}
