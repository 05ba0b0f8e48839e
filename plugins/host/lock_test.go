package host

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The lock file also holds the git modules `runbook init` installed
// (internal/modules owns those blocks): the host reads past them and
// keeps them when it rewrites the providers.
func TestLockKeepsModuleBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), LockFileName)
	module := `module "restore" {
  source  = "git::file:///srv/git/r.git//mod"
  version = "~> 1.0"
  ref     = "v1.1.0"
  commit  = "` + strings.Repeat("a1", 20) + `"
}
`
	old := `provider "gone" {
  version = "1.0.0"
  sha256  = "` + strings.Repeat("cd", 32) + `"
}

` + module
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	if l, err := ReadLock(path); err != nil || len(l.Providers) != 1 {
		t.Fatalf("ReadLock: %+v, %v", l, err)
	}
	l := &Lock{Providers: map[string]*LockedProvider{
		"manager": {Name: "manager", Version: "0.2.0", SHA256: strings.Repeat("01", 32)},
	}}
	for range 2 { // rewriting gives the same file
		if err := WriteLock(path, l); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	want := string(l.Bytes()) + "\n" + module
	if string(got) != want {
		t.Fatalf("lock file:\n%s\nwant:\n%s", got, want)
	}
	if read, err := ReadLock(path); err != nil || len(read.Providers) != 1 || read.Providers["manager"] == nil {
		t.Fatalf("ReadLock: %+v, %v", read, err)
	}
}
