package local

import (
	"os"
	"path/filepath"
	"testing"
)

// TestWriteAtomicMode: journals and lock.info are 0600 also when they
// replace a file that was readable by others (renameio.WriteFile would
// keep that mode).
func TestWriteAtomicMode(t *testing.T) {
	dir := t.TempDir()
	for _, existing := range []os.FileMode{0, 0o644, 0o666} {
		path := filepath.Join(dir, "lock.info")
		_ = os.Remove(path)
		if existing != 0 {
			if err := os.WriteFile(path, []byte("old"), existing); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, existing); err != nil {
				t.Fatal(err)
			}
		}
		if err := writeAtomic(path, []byte("new")); err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != 0o600 {
			t.Errorf("over a file of mode %04o: %s, want -rw-------", existing, fi.Mode())
		}
		if b, _ := os.ReadFile(path); string(b) != "new" {
			t.Errorf("content %q", b)
		}
	}
}
