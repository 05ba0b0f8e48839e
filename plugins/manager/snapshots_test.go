package manager_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	simmanager "github.com/runbook-dev/runbook/internal/sim/manager"
	"github.com/runbook-dev/runbook/plugins/provider"
)

func TestSnapshotLifecycle(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: liveEstate()})
	h := newHarness(t, s, nil)

	create := h.apply("manager.snapshot_create", obj{"snapshot_id": "s1", "include_credentials": true})
	if got := create.str("status"); got != "created" {
		t.Errorf("status %q, want created", got)
	}
	if create.str("snapshot_id") != "s1" || create.str("execution_id") == "" {
		t.Errorf("outputs %#v", create.out)
	}
	// The create_snapshot execution's events reached the step's log.
	if logs := create.logs(); !strings.Contains(logs, "Starting 'create_snapshot' workflow execution") ||
		!strings.Contains(logs, "'create_snapshot' workflow execution succeeded") {
		t.Errorf("the execution's events are not in the log:\n%s", logs)
	}

	dir := t.TempDir()
	path := filepath.Join(dir, "archives", "s1.zip") // the directory is created
	dl := h.apply("manager.snapshot_download", obj{"snapshot_id": "s1", "path": path})
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if dl.str("sha256") != hex.EncodeToString(sum[:]) || dl.str("path") != path {
		t.Errorf("outputs %#v, file sha256 %x", dl.out, sum)
	}
	if size, _ := dl.out.GetAttr("size").AsBigFloat().Int64(); size != int64(len(data)) || size == 0 {
		t.Errorf("size %d, file has %d bytes", size, len(data))
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600: the archive holds credentials", fi.Mode().Perm())
	}
	var last provider.Event
	for _, ev := range dl.events {
		if ev.Kind == provider.EventProgress {
			if ev.Unit != "bytes" {
				t.Errorf("progress unit %q", ev.Unit)
			}
			last = ev
		}
	}
	if last.Done != int64(len(data)) || last.Total != int64(len(data)) {
		t.Errorf("last progress %+v, want %d of %d bytes", last, len(data), len(data))
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("%d files beside the archive, want none: %v", len(entries)-1, entries)
	}

	list := h.apply("manager.snapshot_list", obj{"search": "s"})
	if ids := strings_(list.out.GetAttr("ids")); len(ids) != 1 || ids[0] != "s1" {
		t.Errorf("ids %v, want [s1] (search s)", ids)
	}
	all := h.apply("manager.snapshot_list", obj{})
	if got := strings_(all.out.GetAttr("ids")); strings.Join(got, ",") != "broken,nightly,s1" {
		t.Errorf("all ids %v", got)
	}
	// Newest first by default.
	if first := objects(all.out.GetAttr("snapshots"))[0]; first["id"] != "s1" || first["status"] != "created" {
		t.Errorf("first snapshot %v, want s1 (the newest)", first)
	}
	failed := h.apply("manager.snapshot_list", obj{"status": []string{"failed"}})
	if ids := strings_(failed.out.GetAttr("ids")); len(ids) != 1 || ids[0] != "broken" {
		t.Errorf("failed ids %v", ids)
	}

	get := h.apply("manager.snapshot_get", obj{"snapshot_id": "s1"})
	if get.str("status") != "created" || get.str("created_by") != "admin" {
		t.Errorf("get %#v", get.out)
	}

	del := h.apply("manager.snapshot_delete", obj{"snapshot_id": "s1"})
	if !del.out.GetAttr("deleted").True() {
		t.Errorf("delete %#v", del.out)
	}
	pe := h.fail("manager.snapshot_get", obj{"snapshot_id": "s1"})
	wantError(t, pe, false, "manager.snapshot_get", "GET /api/v3.1/snapshots/s1", "404 not_found_error", "Requested `Snapshot` with ID `s1` was not found")
	// Deleting what is gone: an error, unless missing_ok.
	pe = h.fail("manager.snapshot_delete", obj{"snapshot_id": "s1"})
	wantError(t, pe, false, "DELETE /api/v3.1/snapshots/s1", "404")
	gone := h.apply("manager.snapshot_delete", obj{"snapshot_id": "s1", "missing_ok": true})
	if gone.out.GetAttr("deleted").True() {
		t.Errorf("deleted a missing snapshot: %#v", gone.out)
	}
}

// A retry of snapshot_create (its first answer lost, or its attempt timed
// out) takes over the snapshot instead of failing with 409.
func TestSnapshotCreateAdoptsItsSnapshot(t *testing.T) {
	s := startSim(t, simmanager.Options{})
	h := newHarness(t, s, nil)
	first := h.apply("manager.snapshot_create", obj{"snapshot_id": "again"})
	second := h.apply("manager.snapshot_create", obj{"snapshot_id": "again"})
	if second.str("status") != "created" || !strings.Contains(second.logs(), "already exists") {
		t.Errorf("second create: %#v\n%s", second.out, second.logs())
	}
	if n := count(s.requests(t), "PUT", "/api/v3.1/snapshots/again"); n != 1 {
		t.Errorf("%d PUT requests, want 1", n)
	}
	if first.str("created_at") != second.str("created_at") {
		t.Errorf("created_at %q then %q", first.str("created_at"), second.str("created_at"))
	}
}

func TestSnapshotCreateFailures(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: estate()})
	h := newHarness(t, s, nil)

	s.faults(t, simmanager.Faults{FailWorkflows: map[string]string{"create_snapshot": "No space left on device"}})
	pe := h.fail("manager.snapshot_create", obj{"snapshot_id": "full"})
	wantError(t, pe, false, "manager.snapshot_create", "snapshot full was not created", "create_snapshot", "failed", "No space left on device")

	pe = h.fail("manager.snapshot_create", obj{"snapshot_id": "broken"})
	wantError(t, pe, false, "snapshot broken already exists and failed (disk full)")
	if !pe.Attribute.Equals(ctyPath("snapshot_id")) {
		t.Errorf("attribute %#v, want snapshot_id", pe.Attribute)
	}

	pe = h.fail("manager.snapshot_create", obj{"snapshot_id": "bad id!"})
	wantError(t, pe, false, "PUT /api/v3.1/snapshots/bad%20id%21", "400 bad_parameters_error")
}

func TestSnapshotDownloadFailures(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: estate()})
	h := newHarness(t, s, nil)
	dir := t.TempDir()

	pe := h.fail("manager.snapshot_download", obj{"snapshot_id": "broken", "path": filepath.Join(dir, "broken.zip")})
	wantError(t, pe, false, "GET /api/v3.1/snapshots/broken/archive", "400 snapshot_action_error", "Failed snapshot cannot be downloaded")
	pe = h.fail("manager.snapshot_download", obj{"snapshot_id": "nope", "path": filepath.Join(dir, "nope.zip")})
	wantError(t, pe, false, "404 not_found_error")
	pe = h.fail("manager.snapshot_download", obj{"snapshot_id": "nightly", "path": filepath.Join(dir, "x.zip"), "mode": "rw"})
	wantError(t, pe, false, `mode "rw" is not an octal file mode`)
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed downloads left files: %v", entries)
	}
}

// A body cut short is retryable and leaves nothing under the archive's
// name, nor a temporary file.
func TestSnapshotDownloadCutShort(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "100000")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("PK\x03\x04 partial"))
		hj, _ := w.(http.Hijacker)
		conn, _, err := hj.Hijack()
		if err == nil {
			_ = conn.Close()
		}
	}))
	defer ts.Close()
	h := newHarness(t, &sim{URL: ts.URL}, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "cut.zip")
	pe := h.fail("manager.snapshot_download", obj{"snapshot_id": "cut", "path": path})
	wantError(t, pe, true, "manager.snapshot_download", "GET /api/v3.1/snapshots/cut/archive")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a cut download left files: %v", entries)
	}
	// Check says not applied: nothing under the name.
	resp, err := h.check("manager.snapshot_download", obj{"snapshot_id": "cut", "path": path}, time.Now())
	if err != nil || resp.Result != provider.NotApplied {
		t.Errorf("Check %+v %v, want NotApplied", resp, err)
	}
}

func TestSnapshotUpload(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: estate()})
	h := newHarness(t, s, nil)
	dir := t.TempDir()
	path := filepath.Join(dir, "nightly.zip")
	h.apply("manager.snapshot_download", obj{"snapshot_id": "nightly", "path": path})
	data, _ := os.ReadFile(path)
	sum := sha256.Sum256(data)

	up := h.apply("manager.snapshot_upload", obj{"snapshot_id": "copy", "path": path})
	if up.str("status") != "uploaded" || up.str("snapshot_id") != "copy" || up.str("sha256") != hex.EncodeToString(sum[:]) {
		t.Errorf("upload %#v", up.out)
	}
	if get := h.apply("manager.snapshot_get", obj{"snapshot_id": "copy"}); get.str("status") != "uploaded" {
		t.Errorf("uploaded snapshot is %q", get.str("status"))
	}
	// Onto an existing ID: the manager keeps the record, replaces the
	// archive and answers nulls; the action reads the record.
	again := h.apply("manager.snapshot_upload", obj{"snapshot_id": "copy", "path": path})
	if again.str("status") != "uploaded" || !strings.Contains(again.logs(), "already existed") {
		t.Errorf("re-upload %#v\n%s", again.out, again.logs())
	}

	// From a URL the manager fetches.
	files := httptest.NewServer(http.FileServer(http.Dir(dir)))
	defer files.Close()
	byURL := h.apply("manager.snapshot_upload", obj{"snapshot_id": "by-url", "url": files.URL + "/nightly.zip"})
	if byURL.str("status") != "uploaded" || !byURL.out.GetAttr("size").IsNull() {
		t.Errorf("upload by URL %#v", byURL.out)
	}
	pe := h.fail("manager.snapshot_upload", obj{"snapshot_id": "x", "url": files.URL + "/missing.zip"})
	wantError(t, pe, false, "PUT /api/v3.1/snapshots/x/archive", "400", "not found")
	if strings.Contains(pe.Error(), "?snapshot_archive_url") {
		t.Errorf("the error shows the query string: %v", pe)
	}

	pe = h.fail("manager.snapshot_upload", obj{"snapshot_id": "x"})
	wantError(t, pe, false, "set path")
	pe = h.fail("manager.snapshot_upload", obj{"snapshot_id": "x", "path": path, "url": files.URL})
	wantError(t, pe, false, "not both")
	pe = h.fail("manager.snapshot_upload", obj{"snapshot_id": "x", "path": filepath.Join(dir, "none.zip")})
	wantError(t, pe, false, "none.zip")
	if !pe.Attribute.Equals(ctyPath("path")) {
		t.Errorf("attribute %#v, want path", pe.Attribute)
	}

	// Check: the snapshot is there, or not.
	resp, err := h.check("manager.snapshot_upload", obj{"snapshot_id": "copy", "path": path}, time.Now())
	if err != nil || resp.Result != provider.Applied || resp.Outputs.GetAttr("sha256").AsString() != hex.EncodeToString(sum[:]) {
		t.Errorf("Check %+v %v, want Applied", resp, err)
	}
	resp, err = h.check("manager.snapshot_upload", obj{"snapshot_id": "other", "path": path}, time.Now())
	if err != nil || resp.Result != provider.NotApplied {
		t.Errorf("Check %+v %v, want NotApplied", resp, err)
	}
}

func TestSnapshotChecks(t *testing.T) {
	s := startSim(t, simmanager.Options{Estate: estate()})
	h := newHarness(t, s, nil)
	tests := []struct {
		name   string
		action string
		in     obj
		want   provider.CheckResult
	}{
		{"created snapshot", "manager.snapshot_create", obj{"snapshot_id": "nightly"}, provider.Applied},
		{"no snapshot", "manager.snapshot_create", obj{"snapshot_id": "none"}, provider.NotApplied},
		{"failed snapshot", "manager.snapshot_create", obj{"snapshot_id": "broken"}, provider.Unknown},
		{"deleted", "manager.snapshot_delete", obj{"snapshot_id": "none"}, provider.Applied},
		{"not deleted", "manager.snapshot_delete", obj{"snapshot_id": "nightly"}, provider.NotApplied},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := h.check(tt.action, tt.in, time.Now())
			if err != nil || resp.Result != tt.want {
				t.Errorf("Check %+v %v, want %v", resp, err, tt.want)
			}
		})
	}
	if got := mutating(s.requests(t)); len(got) > 0 {
		t.Errorf("Check made mutating requests: %v", got)
	}
}

// closedPort returns an address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()
	return "http://" + addr
}
