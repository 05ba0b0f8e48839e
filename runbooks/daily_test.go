package runbooks_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/plugins/provider"
	"github.com/runbook-dev/runbook/plugins/providertest"
	"github.com/runbook-dev/runbook/runbook"
)

// TestSnapshotDaily applies manager-snapshot-daily three times with faults
// on: each run creates, downloads and verifies a snapshot, and the last
// keep_local archives and keep_remote snapshots remain.
func TestSnapshotDaily(t *testing.T) {
	d := newDrill(t, clusterEstate())
	d.faults(simmanager.Faults{})
	backups := t.TempDir()
	var ids []string
	retried := 0
	for i := range 3 {
		r := d.apply("manager-snapshot-daily", false, "backup_dir="+backups)
		r.finished(t)
		retried += r.retried()
		id := str(r.outputs["snapshot_id"])
		if !strings.HasPrefix(id, "daily-") {
			t.Fatalf("run %d: snapshot_id %q", i, id)
		}
		ids = append(ids, id)
		archive := str(r.outputs["archive"])
		if archive != filepath.Join(backups, id+".zip") {
			t.Errorf("archive %q", archive)
		}
		sum, err := os.ReadFile(archive + ".sha256")
		if err != nil || string(sum) != str(r.outputs["sha256"])+"  "+id+".zip\n" {
			t.Errorf("%s.sha256: %q %v", archive, sum, err)
		}
		// keep_remote = 2: each run deletes the oldest daily snapshot
		// (the estate has two); weekly-1 and nightly are not ours.
		wantPruned := map[int]string{0: "daily-00000000000000000000000001", 1: "daily-00000000000000000000000002", 2: ids[0]}[i]
		if got := strings.Join(list(r.outputs["pruned_remote"]), ","); got != wantPruned {
			t.Errorf("run %d pruned %q on the manager, want %q", i, got, wantPruned)
		}
		if i == 2 {
			if got := strings.Join(list(r.outputs["pruned_local"]), ","); got != ids[0]+".zip" {
				t.Errorf("run %d pruned %q locally, want %s.zip", i, got, ids[0])
			}
		}
	}
	if retried == 0 {
		t.Error("no attempt failed: the faults were not exercised")
	}
	// Locally: the two newest archives and their checksums.
	entries, _ := os.ReadDir(backups)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	want := []string{ids[1] + ".zip", ids[1] + ".zip.sha256", ids[2] + ".zip", ids[2] + ".zip.sha256"}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("backup_dir holds %v, want %v", names, want)
	}
	// On the manager: the two newest daily snapshots, and the others.
	remote := snapshotIDs(t, d)
	wantRemote := []string{ids[1], ids[2], "nightly", "weekly-1"}
	sort.Strings(wantRemote)
	if strings.Join(remote, ",") != strings.Join(wantRemote, ",") {
		t.Errorf("manager has %v, want %v", remote, wantRemote)
	}
}

// TestSnapshotDailyThroughPlugin applies the daily runbook with the manager
// provider running as the host runs it: its own process, started through
// go-plugin (handshake, gRPC, automatic mutual TLS), built with go build.
func TestSnapshotDailyThroughPlugin(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the plugin")
	}
	bin, err := providertest.Build("github.com/runbook-dev/runbook/plugins/manager/cmd/runbook-provider-manager", t.TempDir(), "runbook-provider-manager")
	if err != nil {
		t.Fatal(err)
	}
	d := newDrill(t, clusterEstate())
	d.faults(simmanager.Faults{})
	var launched []*providertest.Plugin
	d.plugin = func() provider.Provider {
		p := providertest.Launch(t, bin)
		launched = append(launched, p)
		return p
	}
	backups := t.TempDir()
	r := d.apply("manager-snapshot-daily", false, "backup_dir="+backups)
	r.finished(t)
	if len(launched) != 1 {
		t.Errorf("%d plugin processes, want 1", len(launched))
	}
	data, err := os.ReadFile(str(r.outputs["archive"]))
	if err != nil || len(data) == 0 {
		t.Fatalf("archive: %v", err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != str(r.outputs["sha256"]) {
		t.Errorf("sha256 output %s, file %x", str(r.outputs["sha256"]), sum)
	}
	// The download's progress crossed the process boundary.
	progress := 0
	d.mu.Lock()
	for _, ev := range d.events {
		if ev.Type == runbook.EventProgress && ev.Step == "step.download" {
			progress++
		}
	}
	d.mu.Unlock()
	if progress == 0 {
		t.Error("no download progress from the plugin")
	}
}
