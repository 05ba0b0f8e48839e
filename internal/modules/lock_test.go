package modules

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/runbook-dev/runbook/plugins/host"
)

var commitA, commitB = strings.Repeat("a1", 20), strings.Repeat("b2", 20)

const providerBlock = `provider "manager" {
  version = "0.2.0"
  sha256  = "` + "0101010101010101010101010101010101010101010101010101010101010101" + `"
}
`

func TestLockFileNameIsTheHosts(t *testing.T) {
	if LockFileName != host.LockFileName {
		t.Fatalf("modules write %s, the plugin host %s: they share one file", LockFileName, host.LockFileName)
	}
}

func TestLockKeepsProviderBlocks(t *testing.T) {
	path := filepath.Join(t.TempDir(), LockFileName)
	old := "# header\n\n" + providerBlock
	if err := os.WriteFile(path, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	l := Lock{
		"restore":        {Key: "restore", Source: "git::file:///r.git//mod", Version: "~> 1.0", Ref: "v1.1.0", Commit: commitA},
		"restore.upload": {Key: "restore.upload", Source: "git::file:///u.git?ref=main", Ref: "main", Commit: commitB},
	}
	// Writing twice must give the same file: replaced blocks leave no gaps.
	for range 2 {
		if err := WriteLock(path, l); err != nil {
			t.Fatal(err)
		}
	}
	got, _ := os.ReadFile(path)
	want := old + `
module "restore" {
  source  = "git::file:///r.git//mod"
  version = "~> 1.0"
  ref     = "v1.1.0"
  commit  = "` + commitA + `"
}

module "restore.upload" {
  source  = "git::file:///u.git?ref=main"
  version = ""
  ref     = "main"
  commit  = "` + commitB + `"
}
`
	if string(got) != want {
		t.Fatalf("lock file:\n%s\nwant:\n%s", got, want)
	}
	read, err := ReadLock(path)
	if err != nil || !reflect.DeepEqual(read, l) {
		t.Fatalf("read back %v, %v; want %v", read, err, l)
	}
	// The plugin host reads its part of the same file.
	hl, err := host.ReadLock(path)
	if err != nil || hl.Providers["manager"] == nil {
		t.Fatalf("host.ReadLock: %+v, %v", hl, err)
	}
	// No git modules left: their blocks go, the providers' stay.
	if err := WriteLock(path, Lock{}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != old {
		t.Fatalf("lock file without modules:\n%s\nwant:\n%s", got, old)
	}
}

func TestWriteLockNew(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LockFileName)
	if err := WriteLock(path, Lock{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err == nil {
		t.Fatal("a lock file for a runbook without git modules")
	}
	if err := WriteLock(path, Lock{"x": {Key: "x", Source: "git::file:///x.git", Ref: "main", Commit: commitA}}); err != nil {
		t.Fatal(err)
	}
	got, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(got), lockHeader+"\nmodule \"x\" {\n") {
		t.Fatalf("new lock file:\n%s", got)
	}
}

func TestParseLockErrors(t *testing.T) {
	for _, bad := range []string{
		"module \"x\" {\n  source = \"git::file:///x.git\"\n  commit = \"abc\"\n}\n",
		"module \"x\" {\n  commit = \"" + commitA + "\"\n}\n",
		"module \"x\" {\n  source = \"s\"\n  commit = \"" + commitA + "\"\n}\nmodule \"x\" {\n  source = \"s\"\n  commit = \"" + commitA + "\"\n}\n",
		"module \"x\" {\n  source = 1\n  commit = \"" + commitA + "\"\n}\n",
	} {
		if _, err := ParseLock([]byte(bad), "bad.hcl"); err == nil {
			t.Errorf("ParseLock accepted %q", bad)
		}
	}
}
