package core

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/internal/testsshd"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// A copy that does not read back as the bytes sent (a disk or a network
// path corrupting data silently) fails, retryably, with both digests.
// Production code has no way to corrupt its own copy, so verify is called
// on a file that differs from the digest of the "source".
func TestVerifyDetectsCorruption(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "copy")
	if err := os.WriteFile(target, []byte("flipped bits"), 0o644); err != nil {
		t.Fatal(err)
	}
	sent := sha256.Sum256([]byte("the bytes sent"))
	want := hex.EncodeToString(sent[:])
	read := sha256.Sum256([]byte("flipped bits"))
	got := hex.EncodeToString(read[:])

	t.Run("local", func(t *testing.T) {
		a, c := copyCall(t, "/elsewhere/source", target)
		err := a.verify(context.Background(), c, target, want)
		wantVerifyErr(t, err, target, got, want)
	})
	t.Run("remote", func(t *testing.T) {
		t.Setenv("SSH_AUTH_SOCK", "")
		s := testsshd.Start(t)
		a, c := copyCall(t, "/elsewhere/source", s.URL(dir+"/"),
			"ssh_private_key_file", s.ClientKeyFile, "ssh_known_hosts_file", s.KnownHostsFile)
		disconnect, err := a.connect(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		defer disconnect()
		err = a.verify(context.Background(), c, target, want)
		wantVerifyErr(t, err, s.URL(dir+"/copy"), got, want)
	})
}

func copyCall(t *testing.T, source, dest string, more ...string) (*copyArgs, *call) {
	t.Helper()
	in := map[string]cty.Value{"source": cty.StringVal(source), "destination": cty.StringVal(dest)}
	for i := 0; i < len(more); i += 2 {
		in[more[i]] = cty.StringVal(more[i+1])
	}
	_, c, err := New(Options{}).newCall(&provider.Request{Action: "file_copy", Inputs: cty.ObjectVal(in)})
	if err != nil {
		t.Fatal(err)
	}
	a, err := parseFileCopy(c)
	if err != nil {
		t.Fatal(err)
	}
	return a, c
}

func wantVerifyErr(t *testing.T, err error, where, got, want string) {
	t.Helper()
	if err == nil || !provider.Retryable(err) {
		t.Fatalf("verify = %v, want a retryable error", err)
	}
	for _, s := range []string{where, "sha256 " + got, want} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("%q does not contain %q", err, s)
		}
	}
}
