package manager

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestSnapshotCreateDownloadDelete(t *testing.T) {
	s := newSim(t, Options{})
	x := s.do(req{method: "PUT", path: "snapshots/snap1", body: map[string]any{"include_credentials": "false", "include_logs": true}}).want(201).json()
	if x["workflow_id"] != "create_snapshot" || x["status"] != "pending" || x["is_system_workflow"] != true {
		t.Fatalf("create answered %v", x)
	}
	params := x["parameters"].(map[string]any)
	if params["include_credentials"] != false || params["include_events"] != true || params["snapshot_id"] != "snap1" {
		t.Fatalf("parameters = %v", params)
	}
	execID := x["id"].(string)
	sn := s.do(req{path: "snapshots/snap1"}).want(200).json()
	if sn["status"] != "creating" || sn["created_by"] != "admin" || sn["tenant_name"] != "default_tenant" {
		t.Fatalf("snapshot = %v", sn)
	}
	// Not downloadable while creating: nginx has no file yet.
	if r := s.do(req{path: "snapshots/snap1/archive"}); r.code != 404 || r.header.Get("Content-Type") != "text/html" {
		t.Fatalf("download while creating: %d %s", r.code, r.raw)
	}
	// Deleting while the create_snapshot execution runs is refused.
	s.do(req{method: "DELETE", path: "snapshots/snap1"}).wantError(400, "snapshot_action_error", "")

	s.advance(5 * time.Millisecond)
	if st := s.execStatus(execID); st != "pending" {
		t.Fatalf("after 5ms: %s", st)
	}
	s.advance(10 * time.Millisecond)
	if st := s.execStatus(execID); st != "started" {
		t.Fatalf("after 15ms: %s", st)
	}
	s.advance(40 * time.Millisecond)
	e := s.do(req{path: "executions/" + execID}).want(200).json()
	if e["status"] != "terminated" || e["status_display"] != "completed" || e["ended_at"] == nil || e["started_at"] == nil {
		t.Fatalf("after the run: %v", e)
	}
	if sn := s.do(req{path: "snapshots/snap1"}).want(200).json(); sn["status"] != "created" {
		t.Fatalf("snapshot after the run: %v", sn)
	}
	dl := s.do(req{path: "snapshots/snap1/archive"}).want(200)
	if dl.header.Get("Content-Length") != strconv.Itoa(len(dl.raw)) || len(dl.raw) == 0 ||
		dl.header.Get("Content-Type") != "application/octet-stream" ||
		dl.header.Get("Content-Disposition") != "attachment; filename=snap1.zip" {
		t.Fatalf("download headers %v, %d bytes", dl.header, len(dl.raw))
	}
	if readArchive(dl.raw) == nil {
		t.Fatal("the archive is not a simulator snapshot zip")
	}
	del := s.do(req{method: "DELETE", path: "snapshots/snap1"}).want(200).json()
	if del["id"] != "snap1" {
		t.Fatalf("DELETE answered %v", del)
	}
	s.do(req{path: "snapshots/snap1"}).wantError(404, "not_found_error", "Requested `Snapshot` with ID `snap1` was not found")
	s.do(req{method: "DELETE", path: "snapshots/snap1"}).wantError(404, "not_found_error", "")
	s.do(req{path: "snapshots/snap1/archive"}).wantError(404, "not_found_error", "")
}

func TestSnapshotCreateErrors(t *testing.T) {
	s := newSim(t, Options{Estate: mustEstate(t, `{
	  "blueprints": [{"id": "bp"}],
	  "deployments": [{"id": "dep", "blueprint_id": "bp"}],
	  "snapshots": [{"id": "old", "status": "failed", "error": "disk full"}]
	}`)})
	s.do(req{method: "PUT", path: "snapshots/s1", body: "", ctype: "none"}).
		wantError(415, "unsupported_content_type_error", "Content type must be application/json")
	s.do(req{method: "PUT", path: "snapshots/s1", body: "{}", ctype: "application/json; charset=utf-8"}).
		wantError(415, "unsupported_content_type_error", "")
	s.do(req{method: "PUT", path: "snapshots/1abc", body: map[string]any{}}).
		wantError(400, "bad_parameters_error", "The `snapshot_id` argument must begin with a letter")
	s.do(req{method: "PUT", path: "snapshots/a%20b", body: map[string]any{}}).
		wantError(400, "bad_parameters_error", "The `snapshot_id` argument contains illegal characters. Only letters, digits and the characters \"-\", \".\" and \"_\" are allowed")
	s.do(req{method: "PUT", path: "snapshots/s1", body: map[string]any{"include_logs": nil}}).
		wantError(400, "bad_parameters_error", "include_logs must be <true/false>, got None")
	s.do(req{method: "PUT", path: "snapshots/s1", body: map[string]any{"queue": "yes"}}).
		wantError(400, "bad_parameters_error", "queue must be <true/false>, got yes")
	s.do(req{method: "PUT", path: "snapshots/old", body: map[string]any{}}).
		wantError(409, "conflict_error", "<Snapshot id=`old` tenant=`default_tenant`> already exists on <Tenant name=`default_tenant`> or with global visibility")
	s.do(req{path: "snapshots/old/archive"}).wantError(400, "snapshot_action_error", "Failed snapshot cannot be downloaded")
	s.do(req{method: "POST", path: "snapshots/old/restore", body: map[string]any{"force": true}}).
		wantError(400, "snapshot_action_error", "Failed snapshot cannot be restored")

	// Another execution running: refused, or queued with queue=true.
	run := s.do(req{method: "POST", path: "executions", body: map[string]any{"deployment_id": "dep", "workflow_id": "install"}}).want(201).json()
	r := s.do(req{method: "PUT", path: "snapshots/s1", body: map[string]any{}})
	r.wantError(400, "existing_running_execution_error", "Cannot start execution because there are other executions running: "+run["id"].(string))
	s.do(req{path: "snapshots/s1"}).want(404) // the snapshot row was not kept
	q := s.do(req{method: "PUT", path: "snapshots/s1", body: map[string]any{"queue": true}}).want(201).json()
	if q["status"] != "queued" {
		t.Fatalf("queued create = %v", q)
	}
	// A deployment workflow now waits behind the queued system workflow.
	s.do(req{method: "POST", path: "executions", body: map[string]any{"deployment_id": "dep", "workflow_id": "heal", "force": true}}).
		wantError(400, "existing_running_execution_error", "")
	s.advance(100 * time.Millisecond)
	if st := s.execStatus(run["id"].(string)); st != "terminated" {
		t.Fatalf("install: %s", st)
	}
	s.advance(100 * time.Millisecond)
	if st := s.execStatus(q["id"].(string)); st != "terminated" {
		t.Fatalf("queued create_snapshot: %s", st)
	}
	if sn := s.do(req{path: "snapshots/s1"}).want(200).json(); sn["status"] != "created" {
		t.Fatalf("s1 = %v", sn)
	}
}

func TestSnapshotListPagination(t *testing.T) {
	est := `{"tenants": ["other"], "snapshots": [`
	for i := 1; i <= 5; i++ {
		status := "created"
		if i == 3 {
			status = "failed"
		}
		est += fmt.Sprintf(`{"id": "snap%d", "status": %q, "created_at": "2024-01-0%dT00:00:00Z"},`, i, status, i)
	}
	est += `{"id": "elsewhere", "tenant": "other"}]}`
	s := newSim(t, Options{Estate: mustEstate(t, est)})

	r := s.do(req{path: "snapshots"}).want(200).json()
	pg := r["metadata"].(map[string]any)["pagination"].(map[string]any)
	if pg["total"] != 5.0 || pg["size"] != 1000.0 || pg["offset"] != 0.0 || len(r["items"].([]any)) != 5 {
		t.Fatalf("default list: %v", r)
	}
	r = s.do(req{path: "snapshots?_size=2&_offset=1&_sort=-created_at&_include=id,status"}).want(200).json()
	pg = r["metadata"].(map[string]any)["pagination"].(map[string]any)
	items := r["items"].([]any)
	if pg["total"] != 5.0 || pg["size"] != 2.0 || pg["offset"] != 1.0 || len(items) != 2 {
		t.Fatalf("page: %v", r)
	}
	first := items[0].(map[string]any)
	if first["id"] != "snap4" || len(first) != 2 || items[1].(map[string]any)["id"] != "snap3" {
		t.Fatalf("sorted page: %v", items)
	}
	r = s.do(req{path: "snapshots?status=failed"}).want(200).json()
	if items := r["items"].([]any); len(items) != 1 || items[0].(map[string]any)["id"] != "snap3" {
		t.Fatalf("filter: %v", r)
	}
	r = s.do(req{path: "snapshots?id=snap1&id=snap2"}).want(200).json()
	if len(r["items"].([]any)) != 2 {
		t.Fatalf("repeated filter: %v", r)
	}
	r = s.do(req{path: "snapshots?_search=AP5"}).want(200).json()
	if len(r["items"].([]any)) != 1 {
		t.Fatalf("search: %v", r)
	}
	r = s.do(req{path: "snapshots?_all_tenants=true"}).want(200).json()
	if len(r["items"].([]any)) != 6 {
		t.Fatalf("all tenants: %v", r)
	}
	r = s.do(req{path: "snapshots?_size=2&_get_all_results=true"}).want(200).json()
	if len(r["items"].([]any)) != 5 {
		t.Fatalf("get all results: %v", r)
	}
	s.do(req{path: "snapshots?_size=-1"}).wantError(400, "illegal_action_error", "Invalid pagination size: -1.")
	s.do(req{path: "snapshots?_size=1001"}).wantError(400, "illegal_action_error", "Invalid pagination size: 1001. Max allowed: 1000")
	s.do(req{path: "snapshots?_include=nope"}).wantError(400, "no_such_include_field_error", "")
	s.do(req{path: "snapshots?_sort=nope"}).wantError(400, "bad_parameters_error", "")
	if g := s.do(req{path: "snapshots/snap2?_include=status"}).want(200).json(); len(g) != 1 || g["status"] != "created" {
		t.Fatalf("get _include: %v", g)
	}
	// Other tenants' snapshots are not found through this tenant.
	s.do(req{path: "snapshots/elsewhere"}).want(404)
	s.do(req{path: "snapshots/elsewhere", tenant: "other"}).want(200)
}

func TestSnapshotUpload(t *testing.T) {
	s := newSim(t, Options{})
	payload := []byte("PK\x03\x04 not really a zip")
	up := s.do(req{method: "PUT", path: "snapshots/up1/archive", body: payload, ctype: "application/octet-stream"}).want(201).json()
	if up["id"] != "up1" || up["status"] != "uploaded" {
		t.Fatalf("upload answered %v", up)
	}
	dl := s.do(req{path: "snapshots/up1/archive"}).want(200)
	if string(dl.raw) != string(payload) {
		t.Fatalf("downloaded %q", dl.raw)
	}
	// Uploading onto an existing id stores the archive and answers nulls.
	again := s.do(req{method: "PUT", path: "snapshots/up1/archive", body: []byte("v2"), ctype: "application/octet-stream"}).want(201).json()
	if again["id"] != nil || again["status"] != nil {
		t.Fatalf("re-upload answered %v", again)
	}
	if dl := s.do(req{path: "snapshots/up1/archive"}).want(200); string(dl.raw) != "v2" {
		t.Fatalf("after re-upload: %q", dl.raw)
	}
	s.do(req{method: "PUT", path: "snapshots/up2/archive"}).wantError(400, "bad_parameters_error", "")

	// ?snapshot_archive_url=: the manager fetches it.
	fetches := 0
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches++
		if r.URL.Path != "/archive.zip" {
			http.NotFound(w, r)
			return
		}
		_, _ = w.Write([]byte("from-url"))
	}))
	defer src.Close()
	// An anonymous caller does not make the manager fetch anything.
	s.do(req{method: "PUT", path: "snapshots/up3/archive?snapshot_archive_url=" + src.URL + "/archive.zip", noAuth: true}).want(401)
	if fetches != 0 {
		t.Fatalf("fetched %d times for an anonymous caller", fetches)
	}
	s.do(req{method: "PUT", path: "snapshots/up3/archive?snapshot_archive_url=" + src.URL + "/archive.zip"}).want(201)
	if dl := s.do(req{path: "snapshots/up3/archive"}).want(200); string(dl.raw) != "from-url" {
		t.Fatalf("url upload: %q", dl.raw)
	}
	s.do(req{method: "PUT", path: "snapshots/up4/archive?snapshot_archive_url=" + src.URL + "/missing"}).
		wantError(400, "param_url_not_found_error", "")
	s.do(req{method: "PUT", path: "snapshots/up4/archive?snapshot_archive_url=file:///etc/passwd"}).
		wantError(400, "bad_parameters_error", "")
}
