package sshcopy_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/runbook-dev/runbook/internal/sshcopy"
	"github.com/runbook-dev/runbook/internal/testsshd"
)

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
	return out
}

func TestPendingFile(t *testing.T) {
	noAgent(t)
	s := testsshd.Start(t)
	c, err := dial(t, s, sshcopy.Options{KeyFile: s.ClientKeyFile, KnownHostsFile: s.KnownHostsFile})
	if err != nil {
		t.Fatal(err)
	}
	if !c.CanSync() {
		t.Error("OpenSSH offers fsync@openssh.com")
	}

	t.Run("replaces the target in one step, with the mode", func(t *testing.T) {
		dir := t.TempDir()
		target := filepath.Join(dir, "backup.tgz")
		if err := os.WriteFile(target, []byte("the old backup, longer than the new"), 0o644); err != nil {
			t.Fatal(err)
		}
		pf, err := c.Create(target, 0o640)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(t, dir); len(got) != 2 {
			t.Errorf("while writing, the directory holds %q", got)
		}
		if fi, err := os.Stat(pf.Name()); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("the temporary file while writing: %v, %v; want mode 0600", fi, err)
		}
		data := bytes.Repeat([]byte("x"), 100<<10)
		if _, err := pf.Write(data); err != nil {
			t.Fatal(err)
		}
		if b, _ := os.ReadFile(target); !bytes.HasPrefix(b, []byte("the old")) {
			t.Errorf("the target changed before the rename")
		}
		if err := pf.CloseAtomicallyReplace(); err != nil {
			t.Fatal(err)
		}
		if err := pf.Cleanup(); err != nil {
			t.Errorf("Cleanup after the rename: %v", err)
		}
		got, _ := os.ReadFile(target)
		fi, _ := os.Stat(target)
		if !bytes.Equal(got, data) || fi.Mode().Perm() != 0o640 {
			t.Errorf("target: %d bytes, mode %o", len(got), fi.Mode().Perm())
		}
		if got := names(t, dir); !slices.Equal(got, []string{"backup.tgz"}) {
			t.Errorf("the directory holds %q", got)
		}
	})
	t.Run("Cleanup removes the temporary file", func(t *testing.T) {
		dir := t.TempDir()
		pf, err := c.Create(filepath.Join(dir, "f"), 0o644)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pf.Write([]byte("partial")); err != nil {
			t.Fatal(err)
		}
		if err := pf.Cleanup(); err != nil {
			t.Fatal(err)
		}
		if got := names(t, dir); len(got) != 0 {
			t.Errorf("the directory holds %q", got)
		}
	})
	t.Run("missing directory", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope")
		_, err := c.Create(filepath.Join(missing, "f"), 0o644)
		wantKind(t, err, sshcopy.KindNotExist, false, missing, s.Addr, "no such directory")
	})
	t.Run("missing file", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "nope")
		_, err := c.Open(missing)
		wantKind(t, err, sshcopy.KindNotExist, false, "open "+missing+" on "+s.Addr)
		_, err = c.Stat(missing)
		wantKind(t, err, sshcopy.KindNotExist, false, missing)
	})
	t.Run("read", func(t *testing.T) {
		path := writeFile(t, "remote content")
		f, err := c.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil || string(b) != "remote content" {
			t.Errorf("read %q, %v", b, err)
		}
	})
}

// Ending the context closes the client soon after, which fails what is in
// flight with a connection error rather than hanging.
func TestClientClosesWithContext(t *testing.T) {
	noAgent(t)
	s := testsshd.Start(t)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := sshcopy.Dial(ctx, location(t, s.URL("/")), sshcopy.Options{KeyFile: s.ClientKeyFile, KnownHostsFile: s.KnownHostsFile})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	cancel()
	if _, err := c.Stat("/"); err != nil {
		t.Errorf("during the grace period: %v", err)
	}
	waitFor(t, func() bool {
		_, err := c.Stat("/")
		return err != nil
	})
	_, err = c.Stat("/")
	wantKind(t, err, sshcopy.KindTransfer, true, s.Addr)
}
