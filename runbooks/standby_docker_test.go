package runbooks_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/dockertest"
	"github.com/runbook-dev/runbook/internal/testsshd"
)

var ctyZero = cty.NumberIntVal(0)

// hclList writes strings as an HCL list for -var.
func hclList(items ...string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func fileSHA(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func startedAt(t *testing.T, cli *client.Client, id string) time.Time {
	t.Helper()
	r, err := cli.ContainerInspect(context.Background(), id, client.ContainerInspectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := time.Parse(time.RFC3339Nano, r.Container.State.StartedAt)
	if err != nil {
		t.Fatal(err)
	}
	return ts
}

// sites are the two directories that stand for the primary and the
// secondary system in the transfer drills.
type sites struct {
	root, primary, secondary, staging string
}

func newSites(t *testing.T) *sites {
	t.Helper()
	root := t.TempDir()
	s := &sites{root: root, primary: filepath.Join(root, "primary"), secondary: filepath.Join(root, "secondary"), staging: filepath.Join(root, "staging")}
	for _, d := range []string{filepath.Join(s.primary, "data"), s.secondary} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write := func(p, content string) {
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(s.primary, "data", "workspaces.db"), strings.Repeat("workspace row\n", 5000))
	write(filepath.Join(s.primary, "codenvy.pp"), "node 'codenvy' { $host_url = 'codenvy.example.com' }\n")
	return s
}

// TestStandbyNightlyTransfer runs seed 004's nightly transfer between two
// local directories, with the local Docker engine as both sites' engine.
func TestStandbyNightlyTransfer(t *testing.T) { testNightly(t, false) }

// TestStandbyNightlyTransferSSH sends the files to the secondary over SFTP
// to an sshd on loopback, host key checked against a known_hosts file.
func TestStandbyNightlyTransferSSH(t *testing.T) { testNightly(t, true) }

func testNightly(t *testing.T, overSSH bool) {
	cli := dockertest.Client(t)
	ref := dockertest.Name("standby") + ":1.0"
	imageID := dockertest.BuildImage(t, cli, ref)
	ctrName := dockertest.Name("standby-app")
	ctr := dockertest.RunContainer(t, cli, ref, ctrName)
	before := startedAt(t, cli, ctr)

	s := newSites(t)
	dest, cfgDest := s.secondary, filepath.Join(s.secondary, "codenvy.pp.installed")
	args := []dsl.VarArg{
		{File: true, Value: filepath.Join("standby-nightly-transfer", "drill.vars.hcl")},
		{Value: "staging_dir=" + s.staging},
		{Value: "config_file=" + filepath.Join(s.primary, "codenvy.pp")},
		{Value: "image_labels=[]"},
		{Value: "image_references=" + hclList(ref)},
		{Value: "restart_containers=" + hclList(ctrName)},
		{Value: "backup_command=" + hclList("sh", "-c", `tar -czf "$BACKUP_FILE" -C `+s.primary+" data")},
		{Value: "restore_command=" + hclList("sh", "-c", `tar -xzf "$BACKUP_FILE" -C `+s.secondary)},
	}
	if overSSH {
		srv := testsshd.Start(t)
		url := "sftp://" + srv.User + "@" + srv.Addr
		dest, cfgDest = url+dest, url+cfgDest
		args = append(args,
			dsl.VarArg{Value: "ssh_private_key_file=" + srv.ClientKeyFile},
			dsl.VarArg{Value: "ssh_known_hosts_file=" + srv.KnownHostsFile})
	}
	args = append(args, dsl.VarArg{Value: "secondary_dir=" + dest}, dsl.VarArg{Value: "secondary_config_file=" + cfgDest})

	d := &drill{t: t}
	r := applyDir(t, "standby-nightly-transfer", d.providers, nil, args, false)
	r.finished(t)

	// The data store was restored on the secondary from the transferred archive.
	if got, want := fileSHA(t, filepath.Join(s.secondary, "data", "workspaces.db")), fileSHA(t, filepath.Join(s.primary, "data", "workspaces.db")); got != want {
		t.Errorf("restored data store differs from the primary's")
	}
	// Every file on the secondary is byte for byte the staging copy.
	tars, _ := filepath.Glob(filepath.Join(s.secondary, "image-*.tar"))
	if len(tars) != 1 {
		t.Fatalf("image tars on the secondary: %v", tars)
	}
	for _, f := range append(tars, filepath.Join(s.secondary, "backup.tar")) {
		if fileSHA(t, f) != fileSHA(t, filepath.Join(s.staging, filepath.Base(f))) {
			t.Errorf("%s differs from the primary's copy", f)
		}
	}
	if fileSHA(t, filepath.Join(s.secondary, "codenvy.pp.installed")) != fileSHA(t, filepath.Join(s.primary, "codenvy.pp")) {
		t.Error("the secondary's configuration was not replaced by the primary's")
	}
	imgs := r.outputs["images"]
	if imgs.LengthInt() != 1 {
		t.Fatalf("images output %#v", imgs)
	}
	img := imgs.Index(ctyZero).GetAttr("id").AsString()
	if img != imageID {
		t.Errorf("loaded image ID %s, want %s", img, imageID)
	}
	if !startedAt(t, cli, ctr).After(before) {
		t.Error("the container was not restarted")
	}
}

// TestStandbyFailover: the secondary's stopped container is started and
// waited for, both gates are asked in order (the primary is fenced
// between them, the re-route comes after the second), and the re-route
// command writes the new record.
func TestStandbyFailover(t *testing.T) {
	cli := dockertest.Client(t)
	ref := dockertest.Name("failover") + ":1"
	dockertest.BuildImage(t, cli, ref)
	name := dockertest.Name("failover-app")
	ctr := dockertest.RunContainer(t, cli, ref, name)
	if _, err := cli.ContainerStop(context.Background(), ctr, client.ContainerStopOptions{}); err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(up.Close)
	dir := t.TempDir()
	fenced, dns := filepath.Join(dir, "fenced"), filepath.Join(dir, "dns")

	d := &drill{t: t}
	var seen []string
	d.onApprove = func(string) {
		_, err1 := os.Stat(fenced)
		_, err2 := os.Stat(dns)
		seen = append(seen, fmt.Sprintf("fenced=%v routed=%v", err1 == nil, err2 == nil))
	}
	r := applyDir(t, "standby-failover", d.providers, nil, []dsl.VarArg{
		{File: true, Value: filepath.Join("standby-failover", "drill.vars.hcl")},
		{Value: "containers=" + hclList(name)},
		{Value: "secondary_health_url=" + up.URL},
		{Value: "public_url=" + up.URL},
		{Value: "fence_command=" + hclList("touch", fenced)},
		{Value: "reroute_command=" + hclList("sh", "-c", `echo "$PUBLIC_NAME A $SECONDARY_ADDRESS" > `+dns)},
	}, false)
	r.finished(t)
	if got := strings.Join(seen, "; "); got != "fenced=false routed=false; fenced=true routed=false" {
		t.Errorf("gates saw %s", got)
	}
	if b, _ := os.ReadFile(dns); string(b) != "codenvy.drill.example A 127.0.0.1\n" {
		t.Errorf("DNS record %q", b)
	}
	ins, err := cli.ContainerInspect(context.Background(), ctr, client.ContainerInspectOptions{})
	if err != nil || !ins.Container.State.Running {
		t.Errorf("the secondary's container is not running: %v", err)
	}
}

// TestStandbyNightlyTransferDryRun walks the whole transfer without
// writing a file on either site or touching the engine's containers.
func TestStandbyNightlyTransferDryRun(t *testing.T) {
	cli := dockertest.Client(t)
	ref := dockertest.Name("standby-dry") + ":1.0"
	dockertest.BuildImage(t, cli, ref)
	ctrName := dockertest.Name("standby-dry-app")
	ctr := dockertest.RunContainer(t, cli, ref, ctrName)
	before := startedAt(t, cli, ctr)
	s := newSites(t)
	d := &drill{t: t}
	r := applyDir(t, "standby-nightly-transfer", d.providers, nil, []dsl.VarArg{
		{File: true, Value: filepath.Join("standby-nightly-transfer", "drill.vars.hcl")},
		{Value: "staging_dir=" + s.staging},
		{Value: "secondary_dir=" + s.secondary},
		{Value: "config_file=" + filepath.Join(s.primary, "codenvy.pp")},
		{Value: "secondary_config_file=" + filepath.Join(s.secondary, "codenvy.pp")},
		{Value: "image_labels=[]"},
		{Value: "image_references=" + hclList(ref)},
		{Value: "restart_containers=" + hclList(ctrName)},
		{Value: "backup_command=" + hclList("touch", filepath.Join(s.root, "backup-ran"))},
		{Value: "restore_command=" + hclList("touch", filepath.Join(s.root, "restore-ran"))},
	}, true)
	r.finished(t)
	if entries, _ := os.ReadDir(s.secondary); len(entries) != 0 {
		t.Errorf("the dry-run wrote to the secondary: %v", entries)
	}
	for _, p := range []string{s.staging, filepath.Join(s.root, "backup-ran"), filepath.Join(s.root, "restore-ran")} {
		if _, err := os.Stat(p); err == nil {
			t.Errorf("the dry-run created %s", p)
		}
	}
	if !startedAt(t, cli, ctr).Equal(before) {
		t.Error("the dry-run restarted the container")
	}
}
