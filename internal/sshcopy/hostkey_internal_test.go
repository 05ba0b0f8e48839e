package sshcopy

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/rsa"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// The client asks for the host key types known_hosts holds for the host,
// so that a server offering another type first is not taken for a changed
// key; with none known it leaves ssh's default.
func TestKnownAlgorithms(t *testing.T) {
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	ed, _ := ssh.NewPublicKey(edPub)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := ssh.NewPublicKey(&rsaKey.PublicKey)
	file := filepath.Join(t.TempDir(), "known_hosts")
	lines := knownhosts.Line([]string{"standby:2222"}, rs) + "\n" + knownhosts.Line([]string{"standby:2222"}, ed) + "\n" +
		knownhosts.Line([]string{"other"}, ed) + "\n"
	if err := os.WriteFile(file, []byte(lines), 0o600); err != nil {
		t.Fatal(err)
	}
	cb, err := knownhosts.New(file)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoED25519}
	if got := knownAlgorithms(cb, "standby:2222"); !slices.Equal(got, want) {
		t.Errorf("standby:2222: %q, want %q", got, want)
	}
	if got := knownAlgorithms(cb, "standby:22"); got != nil {
		t.Errorf("an unknown host: %q, want nil", got)
	}
}
