package core_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/runbook-dev/runbook/internal/testsshd"
	"github.com/runbook-dev/runbook/plugins/core"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// startSSHD runs a test sshd, with a developer's SSH agent kept out: its
// keys would log in where a test expects a refusal.
func startSSHD(t *testing.T) *testsshd.Server {
	t.Helper()
	t.Setenv("SSH_AUTH_SOCK", "")
	return testsshd.Start(t)
}

// remoteCopy is a file_copy request that logs in to s with its client key.
func remoteCopy(t *testing.T, s *testsshd.Server, source, dest string, more ...string) *provider.Request {
	t.Helper()
	set := map[string]cty.Value{
		"source": cty.StringVal(source), "destination": cty.StringVal(dest),
		"ssh_private_key_file": cty.StringVal(s.ClientKeyFile), "ssh_known_hosts_file": cty.StringVal(s.KnownHostsFile),
	}
	for i := 0; i < len(more); i += 2 {
		set[more[i]] = cty.StringVal(more[i+1])
	}
	if v, ok := set["ssh_insecure_ignore_host_key"]; ok {
		set["ssh_insecure_ignore_host_key"] = cty.BoolVal(v.AsString() == "true")
	}
	return request(t, "file_copy", set)
}

// randomFile writes size random bytes with mode and returns the path.
func randomFile(t *testing.T, dir, name string, size int, mode os.FileMode) (string, []byte) {
	t.Helper()
	data := make([]byte, size)
	if _, err := rand.Read(data); err != nil {
		t.Fatal(err)
	}
	return writeFile(t, dir, name, string(data), mode), data
}

func checkResult(t *testing.T, p *core.Provider, r *provider.Request) (provider.CheckResult, cty.Value) {
	t.Helper()
	resp, err := p.Check(context.Background(), &provider.CheckRequest{Request: *r})
	if err != nil {
		t.Fatalf("Check: %v", err)
	}
	return resp.Result, resp.Outputs
}

// assertCopy checks the copy at path holds data with mode, the outputs
// say so, and Check finds it in place.
func assertCopy(t *testing.T, p *core.Provider, r *provider.Request, out cty.Value, path, wantPath string, data []byte, mode os.FileMode) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("the copy holds %d bytes (%v), want the %d of the source", len(got), err, len(data))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != mode {
		t.Errorf("mode %o, want %o", fi.Mode().Perm(), mode)
	}
	if got := str(t, out, "path"); got != wantPath {
		t.Errorf("path = %s, want %s", got, wantPath)
	}
	if got := str(t, out, "sha256"); got != digest(string(data)) {
		t.Errorf("sha256 = %s, want %s", got, digest(string(data)))
	}
	if got := num(t, out, "size"); got != int64(len(data)) {
		t.Errorf("size = %d", got)
	}
	if got := names(t, filepath.Dir(path)); !slices.Equal(got, []string{filepath.Base(path)}) {
		t.Errorf("the destination directory holds %q", got)
	}
	if res, cout := checkResult(t, p, r); res != provider.Applied || !cout.RawEquals(out) {
		t.Errorf("Check = %v, %#v; want Applied with the outputs", res, cout)
	}
}

func TestFileCopyUpload(t *testing.T) {
	s := startSSHD(t)
	source, data := randomFile(t, t.TempDir(), "backup.tgz", 3<<20+17, 0o750)
	p := core.New(core.Options{})

	tests := []struct {
		name     string
		dest     string // on the server; DST is a fresh directory
		mode     []string
		existing bool // DST/backup.tgz exists
		wantPath string
		wantMode os.FileMode
	}{
		{name: "new file with the source's mode", dest: "DST/backup.tgz", wantPath: "DST/backup.tgz", wantMode: 0o750},
		{name: "explicit mode", dest: "DST/backup.tgz", mode: []string{"mode", "0640"}, wantPath: "DST/backup.tgz", wantMode: 0o640},
		{name: "replaces a file", dest: "DST/backup.tgz", existing: true, wantPath: "DST/backup.tgz", wantMode: 0o750},
		{name: "into a directory", dest: "DST", wantPath: "DST/backup.tgz", wantMode: 0o750},
		{name: "into a directory, written with a slash", dest: "DST/", wantPath: "DST/backup.tgz", wantMode: 0o750},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			if tt.existing {
				writeFile(t, dst, "backup.tgz", "an older backup", 0o600)
			}
			url := s.URL(strings.Replace(tt.dest, "DST", dst, 1))
			var ev events
			r := remoteCopy(t, s, source, url, tt.mode...)
			r.Events = ev.add
			out := mustApply(t, p, r)
			assertCopy(t, p, r, out, filepath.Join(dst, "backup.tgz"), s.URL(strings.Replace(tt.wantPath, "DST", dst, 1)), data, tt.wantMode)
			if pr := ev.progress(); len(pr) < 3 || pr[len(pr)-1].Done != int64(len(data)) {
				t.Errorf("progress events %+v", pr)
			}
		})
	}
}

func TestFileCopyDownload(t *testing.T) {
	s := startSSHD(t)
	remote, data := randomFile(t, t.TempDir(), "snapshot.zip", 2<<20+5, 0o640)
	p := core.New(core.Options{})

	t.Run("to a file", func(t *testing.T) {
		dest := filepath.Join(t.TempDir(), "copy.zip")
		r := remoteCopy(t, s, s.URL(remote), dest)
		out := mustApply(t, p, r)
		assertCopy(t, p, r, out, dest, dest, data, 0o640)
	})
	t.Run("ssh:// into a directory, with a mode", func(t *testing.T) {
		dst := t.TempDir()
		r := remoteCopy(t, s, "ssh://"+s.Addr+remote, dst, "mode", "0600")
		out := mustApply(t, p, r)
		want := filepath.Join(dst, "snapshot.zip")
		assertCopy(t, p, r, out, want, want, data, 0o600)
	})
}

// Check reads both sides: a copy changed afterwards on the remote host,
// or one that does not have the digest expected, is not in place.
func TestFileCopyRemoteCheck(t *testing.T) {
	s := startSSHD(t)
	source := writeFile(t, t.TempDir(), "f", "content", 0o644)
	dst := t.TempDir()
	p := core.New(core.Options{})
	r := remoteCopy(t, s, source, s.URL(dst+"/f"))
	if res, _ := checkResult(t, p, r); res != provider.NotApplied {
		t.Errorf("before the copy: %v", res)
	}
	mustApply(t, p, r)
	if res, _ := checkResult(t, p, r); res != provider.Applied {
		t.Errorf("after the copy: %v", res)
	}
	other := remoteCopy(t, s, source, s.URL(dst+"/f"), "expect_sha256", digest("something else"))
	if res, _ := checkResult(t, p, other); res != provider.NotApplied {
		t.Errorf("with another expected digest: %v", res)
	}
	writeFile(t, dst, "f", "CONTENT", 0o644)
	if res, _ := checkResult(t, p, r); res != provider.NotApplied {
		t.Errorf("after a change on the remote host: %v", res)
	}
	closed := remoteCopy(t, s, source, "sftp://"+closedPort(t)+dst+"/f")
	if res, _ := checkResult(t, p, closed); res != provider.NotApplied {
		t.Errorf("with the host unreachable: %v (re-running an atomic copy is safe)", res)
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return addr
}

func TestFileCopyRemoteFailures(t *testing.T) {
	s := startSSHD(t)
	src := t.TempDir()
	source := writeFile(t, src, "f", "data", 0o644)
	emptyKnownHosts := writeFile(t, src, "known_hosts.empty", "", 0o600)
	otherKey, _, _ := ed25519.GenerateKey(rand.Reader)
	oldKey, _ := ssh.NewPublicKey(otherKey)
	changedKnownHosts := writeFile(t, src, "known_hosts.changed", knownhosts.Line([]string{s.Addr}, oldKey)+"\n", 0o600)
	wrongKey := writeFile(t, src, "wrong_key", string(pemKey(t)), 0o600)
	port := strconv.Itoa(s.Port())
	fingerprint := ssh.FingerprintSHA256(s.HostKey)

	tests := []struct {
		name      string
		source    string // DST is replaced by a fresh directory
		dest      string
		more      []string
		retryable bool
		attr      string
		contains  []string
	}{
		{name: "unknown host key", source: source, dest: "REMOTE/f", more: []string{"ssh_known_hosts_file", emptyKnownHosts},
			attr: "destination", contains: []string{"core.file_copy", s.Addr, "ssh-ed25519", fingerprint, "ssh-keyscan -p " + port + " 127.0.0.1 >> " + emptyKnownHosts}},
		{name: "changed host key", source: source, dest: "REMOTE/f", more: []string{"ssh_known_hosts_file", changedKnownHosts},
			attr: "destination", contains: []string{s.Addr, fingerprint, ssh.FingerprintSHA256(oldKey), "intercepting"}},
		{name: "wrong client key", source: source, dest: "REMOTE/f", more: []string{"ssh_private_key_file", wrongKey},
			attr: "destination", contains: []string{s.Addr, "refused user", s.User}},
		{name: "missing remote file", source: "REMOTE/nope", dest: "DST/f",
			attr: "source", contains: []string{"core.file_copy", s.Addr, "/nope", "no such file"}},
		{name: "missing remote directory", source: source, dest: "REMOTE/sub/f",
			attr: "destination", contains: []string{"destination directory", "/sub", "does not exist", s.Addr}},
		{name: "a slash after a file", source: source, dest: "REMOTE/existing/",
			attr: "destination", contains: []string{"not a directory"}},
		{name: "remote source is a directory", source: "REMOTE/", dest: "DST/f",
			attr: "source", contains: []string{"not a regular file"}},
		{name: "connection refused", source: source, dest: "sftp://" + closedPort(t) + "/tmp/f", retryable: true,
			contains: []string{"core.file_copy", "connect to 127.0.0.1:", "refused"}},
		{name: "remote to remote", source: "REMOTE/a", dest: "REMOTE/b",
			attr: "destination", contains: []string{"remote host to another"}},
		{name: "unsupported scheme", source: source, dest: "s3://bucket/f",
			attr: "destination", contains: []string{"unsupported URL scheme"}},
		{name: "no path", source: source, dest: "sftp://" + s.Addr,
			attr: "destination", contains: []string{"no absolute path"}},
		{name: "zero timeout", source: source, dest: "REMOTE/f", more: []string{"ssh_timeout", "0s"},
			attr: "ssh_timeout", contains: []string{"more than zero"}},
		{name: "missing key file", source: source, dest: "REMOTE/f", more: []string{"ssh_private_key_file", "/nonexistent/key"},
			attr: "ssh_private_key_file", contains: []string{"/nonexistent/key"}},
	}
	p := core.New(core.Options{})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := t.TempDir()
			writeFile(t, dst, "existing", "x", 0o644)
			expand := func(v string) string {
				v = strings.Replace(v, "REMOTE", s.URL(dst), 1)
				return strings.Replace(v, "DST", dst, 1)
			}
			_, err := apply(t, p, remoteCopy(t, s, expand(tt.source), expand(tt.dest), tt.more...))
			wantErr(t, err, tt.retryable, tt.contains...)
			if got := errAttr(err); got != tt.attr {
				t.Errorf("attribute %q, want %q", got, tt.attr)
			}
			if got := names(t, dst); !slices.Equal(got, []string{"existing"}) {
				t.Errorf("the destination directory holds %q after a failure", got)
			}
		})
	}

	t.Run("unknown host key accepted when told to", func(t *testing.T) {
		dst := t.TempDir()
		var ev events
		r := remoteCopy(t, s, source, s.URL(dst+"/f"), "ssh_known_hosts_file", emptyKnownHosts, "ssh_insecure_ignore_host_key", "true")
		r.Events = ev.add
		mustApply(t, p, r)
		if !slices.ContainsFunc(ev.logs(), func(l string) bool { return strings.HasPrefix(l, "warn: not checking the host key") }) {
			t.Errorf("no warning in %q", ev.logs())
		}
	})
}

// pemKey is a new private key in OpenSSH form.
func pemKey(t *testing.T) []byte {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	block, err := ssh.MarshalPrivateKey(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(block)
}

func errAttr(err error) string {
	pe, ok := err.(*provider.Error)
	if !ok || len(pe.Attribute) == 0 {
		return ""
	}
	return pe.Attribute[0].(cty.GetAttrStep).Name
}

// expect_sha256 is checked before the copy is put in place: a mismatch
// leaves the remote file as it was, with no temporary file beside it.
func TestFileCopyUploadExpectMismatch(t *testing.T) {
	s := startSSHD(t)
	source := writeFile(t, t.TempDir(), "f", "new content", 0o644)
	dst := t.TempDir()
	writeFile(t, dst, "f", "previous", 0o644)
	wrong := digest("what the backup step recorded")
	_, err := apply(t, core.New(core.Options{}), remoteCopy(t, s, source, s.URL(dst+"/f"), "expect_sha256", wrong))
	wantErr(t, err, false, "expected sha256 "+wrong, "got "+digest("new content"))
	if b, _ := os.ReadFile(filepath.Join(dst, "f")); string(b) != "previous" {
		t.Errorf("the remote file changed: %q", b)
	}
	if got := names(t, dst); !slices.Equal(got, []string{"f"}) {
		t.Errorf("the directory holds %q", got)
	}
}

// Neither the password nor the passphrase reaches an error or an event,
// even written as literals (the engine marks only sensitive variables)
// and even where another input's text holds them.
func TestFileCopyPasswordNeverShown(t *testing.T) {
	s := startSSHD(t)
	const secret = "hunter2-correct-horse"
	source := writeFile(t, t.TempDir(), "f", "data", 0o644)
	dest := s.URL(t.TempDir() + "/f")
	p := core.New(core.Options{})
	requests := map[string]*provider.Request{
		// sshd here takes keys only: the password is sent and refused.
		"password refused": request(t, "file_copy", map[string]cty.Value{
			"source": cty.StringVal(source), "destination": cty.StringVal(dest),
			"ssh_password": cty.StringVal(secret), "ssh_known_hosts_file": cty.StringVal(s.KnownHostsFile),
		}),
		"passphrase in a path": request(t, "file_copy", map[string]cty.Value{
			"source": cty.StringVal(source), "destination": cty.StringVal(dest),
			"ssh_private_key_file": cty.StringVal("/keys/" + secret), "ssh_private_key_passphrase": cty.StringVal(secret),
			"ssh_known_hosts_file": cty.StringVal(s.KnownHostsFile),
		}),
	}
	for name, r := range requests {
		t.Run(name, func(t *testing.T) {
			var ev events
			r.Events = ev.add
			_, err := apply(t, p, r)
			wantErr(t, err, false, "core.file_copy", s.Addr)
			resp, cerr := p.Check(context.Background(), &provider.CheckRequest{Request: *r})
			if cerr != nil || resp.Result != provider.NotApplied {
				t.Errorf("Check = %+v, %v", resp, cerr)
			}
			for _, text := range append(ev.logs(), err.Error()) {
				if strings.Contains(text, secret) || strings.Contains(text, "hunter2") {
					t.Errorf("the secret shows: %s", text)
				}
			}
		})
	}
	t.Run("in a URL", func(t *testing.T) {
		_, err := apply(t, p, request(t, "file_copy", map[string]cty.Value{
			"source": cty.StringVal(source), "destination": cty.StringVal("sftp://me:" + secret + "@" + s.Addr + "/tmp/f"),
		}))
		wantErr(t, err, false, "ssh_password")
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("the secret shows: %v", err)
		}
	})
}

// Plan connects to nothing: the remote path is known from the URL alone
// (unless it names a directory), and expect_sha256 is the digest.
func TestFileCopyPlanRemote(t *testing.T) {
	p := core.New(core.Options{})
	unreachable := "sftp://dr@" + closedPort(t)
	local := writeFile(t, t.TempDir(), "f", "x", 0o644)
	dir := t.TempDir()
	upper := strings.ToUpper(digest("x"))
	tests := []struct {
		source, dest, expect string
		path, sum            cty.Value
	}{
		{source: local, dest: unreachable + "/srv/dr/f", path: cty.StringVal(unreachable + "/srv/dr/f"), sum: cty.UnknownVal(cty.String)},
		{source: local, dest: unreachable + "/srv/dr/", path: cty.UnknownVal(cty.String), sum: cty.UnknownVal(cty.String)},
		{source: local, dest: unreachable + "/srv/dr/f", expect: "sha256:" + upper, path: cty.StringVal(unreachable + "/srv/dr/f"), sum: cty.StringVal(digest("x"))},
		{source: unreachable + "/srv/dr/snap.zip", dest: dir, path: cty.StringVal(filepath.Join(dir, "snap.zip")), sum: cty.UnknownVal(cty.String)},
	}
	for _, tt := range tests {
		set := map[string]cty.Value{"source": cty.StringVal(tt.source), "destination": cty.StringVal(tt.dest)}
		if tt.expect != "" {
			set["expect_sha256"] = cty.StringVal(tt.expect)
		}
		out, err := plan(t, p, request(t, "file_copy", set))
		if err != nil {
			t.Errorf("plan %s -> %s: %v", tt.source, tt.dest, err)
			continue
		}
		if !out.GetAttr("path").RawEquals(tt.path) || !out.GetAttr("sha256").RawEquals(tt.sum) {
			t.Errorf("plan %s -> %s = %#v", tt.source, tt.dest, out)
		}
	}
	_, err := plan(t, p, request(t, "file_copy", map[string]cty.Value{
		"source": cty.StringVal(unreachable + "/a"), "destination": cty.StringVal("ssh://other/b"),
	}))
	wantErr(t, err, false, "remote host to another")
}

// An upload cancelled midway leaves the remote file as it was and removes
// its temporary file: the connection outlives the context long enough.
func TestFileCopyUploadCancelled(t *testing.T) {
	s := startSSHD(t)
	source, _ := randomFile(t, t.TempDir(), "big", 3<<20, 0o644)
	dst := t.TempDir()
	writeFile(t, dst, "big", "previous", 0o644)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r := remoteCopy(t, s, source, s.URL(dst+"/big"))
	r.Events = func(ev provider.Event) {
		if ev.Kind == provider.EventProgress {
			cancel() // after the first chunks
		}
	}
	_, err := core.New(core.Options{}).Apply(ctx, r)
	wantErr(t, err, false, "cancelled")
	if got := names(t, dst); !slices.Equal(got, []string{"big"}) {
		t.Errorf("the remote directory holds %q", got)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "big")); string(b) != "previous" {
		t.Errorf("the remote file changed: %d bytes", len(b))
	}
}
