package testsshd_test

import (
	"bytes"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/internal/testsshd"
)

// The server checks out as a client sees it: its host key is the one
// advertised and in KnownHostsFile, the client key logs in as User, and
// SFTP reads files of this machine.
func TestStart(t *testing.T) {
	s := testsshd.Start(t)
	if host, _, _ := net.SplitHostPort(s.Addr); host != "127.0.0.1" || s.Port() == 0 {
		t.Fatalf("Addr = %s", s.Addr)
	}
	pem, err := os.ReadFile(s.ClientKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := ssh.ParsePrivateKey(pem)
	if err != nil {
		t.Fatal(err)
	}
	check, err := knownhosts.New(s.KnownHostsFile)
	if err != nil {
		t.Fatal(err)
	}
	var seen ssh.PublicKey
	conn, err := ssh.Dial("tcp", s.Addr, &ssh.ClientConfig{
		User: s.User,
		Auth: []ssh.AuthMethod{ssh.PublicKeys(signer)},
		HostKeyCallback: func(host string, remote net.Addr, key ssh.PublicKey) error {
			seen = key
			return check(host, remote, key)
		},
	})
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, s.Log())
	}
	defer conn.Close()
	if !bytes.Equal(seen.Marshal(), s.HostKey.Marshal()) {
		t.Errorf("the server showed %s, HostKey is %s", ssh.FingerprintSHA256(seen), ssh.FingerprintSHA256(s.HostKey))
	}
	client, err := sftp.NewClient(conn)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("over sftp"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := client.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var got bytes.Buffer
	if _, err := got.ReadFrom(f); err != nil || got.String() != "over sftp" {
		t.Errorf("read %q, %v", got.String(), err)
	}
	if _, ok := client.HasExtension("posix-rename@openssh.com"); !ok {
		t.Error("no posix-rename@openssh.com")
	}
}
