package client

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestSnapshotsList(t *testing.T) {
	f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "GET" || r.URL.Path != "/api/v3.1/snapshots" {
			reply(w, 404, []byte(`{"message": "no route", "error_code": "not_found_error"}`))
			return
		}
		switch r.URL.Query().Get("_offset") {
		case "", "0":
			reply(w, 200, fixture(t, "snapshots", "page1.json"))
		case "2":
			reply(w, 200, fixture(t, "snapshots", "page2.json"))
		default:
			reply(w, 200, []byte(`{"items": [], "metadata": {"pagination": {"total": 3, "offset": 9, "size": 2}}}`))
		}
	}))
	c := f.client(t)
	ctx := context.Background()

	tests := []struct {
		name      string
		opts      *ListOptions
		wantIDs   []string
		wantTotal int
		wantQuery []map[string][]string
	}{
		{
			name: "one page", opts: nil,
			wantIDs: []string{"snapshot1", "snapshot2"}, wantTotal: 3,
			wantQuery: []map[string][]string{{}},
		},
		{
			name: "one page with parameters",
			opts: &ListOptions{
				Filters: map[string][]string{"status": {"created", "uploaded"}},
				Include: []string{"id", "status"}, Sort: "-created_at", Search: "snap",
				Size: 2, AllTenants: true,
			},
			wantIDs: []string{"snapshot1", "snapshot2"}, wantTotal: 3,
			wantQuery: []map[string][]string{{
				"status": {"created", "uploaded"}, "_include": {"id,status"}, "_sort": {"-created_at"},
				"_search": {"snap"}, "_size": {"2"}, "_all_tenants": {"true"},
			}},
		},
		{
			name: "all pages", opts: &ListOptions{All: true, Size: 2},
			wantIDs: []string{"snapshot1", "snapshot2", "snapshot3"}, wantTotal: 3,
			wantQuery: []map[string][]string{
				{"_size": {"2"}, "_offset": {"0"}},
				{"_size": {"2"}, "_offset": {"2"}},
			},
		},
		{
			name: "all pages from an offset", opts: &ListOptions{All: true, Offset: 2},
			wantIDs: []string{"snapshot3"}, wantTotal: 3,
			wantQuery: []map[string][]string{{"_offset": {"2"}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(f.all())
			got, err := c.Snapshots.List(ctx, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, s := range got.Items {
				ids = append(ids, s.ID)
			}
			if !reflect.DeepEqual(ids, tt.wantIDs) || got.Metadata.Pagination.Total != tt.wantTotal {
				t.Fatalf("ids %v total %d, want %v %d", ids, got.Metadata.Pagination.Total, tt.wantIDs, tt.wantTotal)
			}
			reqs := f.all()[before:]
			if len(reqs) != len(tt.wantQuery) {
				t.Fatalf("%d requests, want %d", len(reqs), len(tt.wantQuery))
			}
			for i, r := range reqs {
				if !reflect.DeepEqual(r.Query, tt.wantQuery[i]) {
					t.Errorf("request %d query %v, want %v", i, r.Query, tt.wantQuery[i])
				}
			}
		})
	}
	// Fields of the Snapshot model decode.
	got, _ := c.Snapshots.List(ctx, &ListOptions{All: true})
	last := got.Items[2]
	if last.Status != SnapshotFailed || last.Error != "boom" || !last.Ended() || last.TenantName != "default_tenant" || last.Visibility != "tenant" {
		t.Fatalf("snapshot3 = %+v", last)
	}
}

func TestSnapshotsCRUD(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3.1/snapshots/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, fixture(t, "snapshots", "get.json"))
	})
	mux.HandleFunc("PUT /api/v3.1/snapshots/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 201, fixture(t, "snapshots", "create.json"))
	})
	mux.HandleFunc("DELETE /api/v3.1/snapshots/{id}", func(w http.ResponseWriter, r *http.Request) {
		if r.PathValue("id") == "rd-style" {
			w.WriteHeader(204)
			return
		}
		reply(w, 200, fixture(t, "snapshots", "delete.json"))
	})
	f := newFake(t, mux)
	c := f.client(t)
	ctx := context.Background()

	s, err := c.Snapshots.Get(ctx, "snapshot4")
	if err != nil || s.ID != "snapshot4" || s.Status != SnapshotUploaded || s.CreatedBy != "admin" {
		t.Fatalf("Get = %+v, %v", s, err)
	}

	createTests := []struct {
		name string
		opts CreateOptions
		want map[string]any
	}{
		{name: "server defaults", opts: CreateOptions{}, want: map[string]any{}},
		{
			name: "everything",
			opts: CreateOptions{
				IncludeCredentials: Bool(false), IncludeLogs: Bool(true), IncludeEvents: Bool(false),
				Queue: Bool(true), TempdirPath: "/tmp/x", Legacy: Bool(true), ListenerTimeout: new(float64),
			},
			want: map[string]any{
				"include_credentials": false, "include_logs": true, "include_events": false,
				"queue": true, "tempdir_path": "/tmp/x", "legacy": true, "listener_timeout": 0.0,
			},
		},
	}
	for _, tt := range createTests {
		t.Run("create "+tt.name, func(t *testing.T) {
			e, err := c.Snapshots.Create(ctx, "snapshot4", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if e.ID != "bb9cd6df-7acd-4649-9fc1-fe062759cde8" || e.WorkflowID != "create_snapshot" || !e.IsSystemWorkflow || e.Status != ExecutionPending || e.Parameters["snapshot_id"] != "snapshot4" {
				t.Fatalf("execution = %+v", e)
			}
			r := f.last(t)
			if r.Method != "PUT" || r.Path != "/api/v3.1/snapshots/snapshot4" || r.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("request %s %s %q", r.Method, r.Path, r.Header.Get("Content-Type"))
			}
			if got := jsonBody(t, r.Body); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("body %v, want %v", got, tt.want)
			}
		})
	}

	for _, id := range []string{"snapshot4", "rd-style"} {
		if err := c.Snapshots.Delete(ctx, id); err != nil {
			t.Fatalf("Delete(%s) = %v", id, err)
		}
		if r := f.last(t); r.Method != "DELETE" || r.Path != "/api/v3.1/snapshots/"+id {
			t.Fatalf("request %s %s", r.Method, r.Path)
		}
	}
}

// The restore body of each manager generation (apis.md 1.1 "Restore-body
// history"): 7.x takes force, restore_certificates, no_reboot; 4.x-5.1 also
// require recreate_deployments_envs; 4.0/4.1 read tenant_name. Optional
// keys are never sent as null.
func TestSnapshotsRestore(t *testing.T) {
	f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != "POST" || r.URL.Path != "/api/v3.1/snapshots/snap1/restore" {
			reply(w, 404, []byte(`{"message": "no route", "error_code": "not_found_error"}`))
			return
		}
		reply(w, 200, fixture(t, "snapshots", "restore.json"))
	}))
	c := f.client(t)
	tests := []struct {
		name       string
		opts       RestoreOptions
		want       map[string]any
		wantBypass string
	}{
		{
			name: "7.x minimal",
			opts: RestoreOptions{Force: true},
			want: map[string]any{"force": true, "restore_certificates": false, "no_reboot": false},
		},
		{
			name: "7.x certificates and timeout",
			opts: RestoreOptions{RestoreCertificates: true, NoReboot: true, Timeout: Int(900)},
			want: map[string]any{"force": false, "restore_certificates": true, "no_reboot": true, "timeout": 900.0},
		},
		{
			name: "5.1 and older: recreate_deployments_envs",
			opts: RestoreOptions{Force: true, RecreateDeploymentsEnvs: Bool(true)},
			want: map[string]any{"force": true, "restore_certificates": false, "no_reboot": false, "recreate_deployments_envs": true},
		},
		{
			name: "seed 001 body: tenant_name and recreate",
			opts: RestoreOptions{TenantName: "default_tenant", RecreateDeploymentsEnvs: Bool(true)},
			want: map[string]any{"tenant_name": "default_tenant", "recreate_deployments_envs": true, "force": false, "restore_certificates": false, "no_reboot": false},
		},
		{
			name:       "ignore plugin failure and bypass maintenance",
			opts:       RestoreOptions{Force: true, IgnorePluginFailure: Bool(false), BypassMaintenance: true},
			want:       map[string]any{"force": true, "restore_certificates": false, "no_reboot": false, "ignore_plugin_failure": false},
			wantBypass: "true",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := c.Snapshots.Restore(context.Background(), "snap1", tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			// The Snapshot-shaped execution of the quirk.
			if e.ID != "1cadbb76-4532-4eae-a139-80bff328944d" || e.Status != ExecutionPending || e.WorkflowID != "restore_snapshot" || e.CreatedBy != "admin" {
				t.Fatalf("execution = %+v", e)
			}
			r := f.last(t)
			if got := jsonBody(t, r.Body); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("body %v, want %v", got, tt.want)
			}
			if got := r.Header.Get("X-BYPASS-MAINTENANCE"); got != tt.wantBypass {
				t.Fatalf("X-BYPASS-MAINTENANCE = %q, want %q", got, tt.wantBypass)
			}
		})
	}
}

func TestSnapshotRestoreStatus(t *testing.T) {
	tests := []struct {
		fixture     string
		body        string
		wantRunning bool
		wantStatus  string
		wantErr     string
	}{
		{fixture: "status_running.json", wantRunning: true, wantStatus: "running"},
		{fixture: "status_not_running.json", wantRunning: false, wantStatus: "not-running"},
		{fixture: "status_legacy_running.json", wantRunning: true, wantStatus: "Snapshot restore in progress...\nThis may take a while, depending on the snapshot size."},
		{fixture: "status_legacy_not_running.json", wantRunning: false, wantStatus: "No `restore_snapshot` workflow currently running."},
		{body: `{"status": "perhaps"}`, wantErr: `unknown status "perhaps"`},
		{body: `{}`, wantErr: "has no status"},
		{body: `<html>oops</html>`, wantErr: "decoding the answer"},
	}
	for _, tt := range tests {
		name := tt.fixture
		if name == "" {
			name = tt.body
		}
		t.Run(name, func(t *testing.T) {
			body := []byte(tt.body)
			if tt.fixture != "" {
				body = fixture(t, "snapshots", tt.fixture)
			}
			f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/api/v3.1/snapshot-status" {
					w.WriteHeader(404)
					return
				}
				reply(w, 200, body)
			}))
			st, err := f.client(t).Snapshots.Status(context.Background())
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if IsRetryable(err) {
					t.Fatal("a malformed answer is not retryable")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if st.Running != tt.wantRunning || st.Status != tt.wantStatus {
				t.Fatalf("status = %+v", st)
			}
		})
	}
}

// archive is a deterministic, incompressible-looking payload.
func archive(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}

type progressLog struct {
	calls [][2]int64
}

func (p *progressLog) fn(done, total int64) { p.calls = append(p.calls, [2]int64{done, total}) }

func (p *progressLog) check(t *testing.T, wantTotal, wantDone int64) {
	t.Helper()
	if len(p.calls) < 2 {
		t.Fatalf("progress called %d times", len(p.calls))
	}
	prev := int64(-1)
	for _, c := range p.calls {
		if c[1] != wantTotal {
			t.Fatalf("progress total %d, want %d", c[1], wantTotal)
		}
		if c[0] < prev {
			t.Fatalf("progress went back: %v", p.calls)
		}
		prev = c[0]
	}
	if last := p.calls[len(p.calls)-1]; last[0] != wantDone {
		t.Fatalf("last progress %v, want done %d", last, wantDone)
	}
}

func TestSnapshotsDownload(t *testing.T) {
	data := archive(300_000)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/v3.1/snapshots/good/archive", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		// In pieces, as a stream.
		for i := 0; i < len(data); i += 65536 {
			w.Write(data[i:min(i+65536, len(data))])
			w.(http.Flusher).Flush()
		}
	})
	mux.HandleFunc("GET /api/v3.1/snapshots/chunked/archive", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(data[:1000])
		w.(http.Flusher).Flush()
		w.Write(data[1000:])
	})
	mux.HandleFunc("GET /api/v3.1/snapshots/failed/archive", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 400, []byte(`{"message": "Failed snapshot cannot be downloaded", "error_code": "snapshot_action_error", "server_traceback": null}`))
	})
	mux.HandleFunc("GET /api/v3.1/snapshots/cut/archive", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(data)))
		w.Write(data[:1000])
		// The handler returns early: the connection is closed short.
		panic(http.ErrAbortHandler)
	})
	f := newFake(t, mux)
	c := f.client(t)
	ctx := context.Background()

	t.Run("exact bytes and progress", func(t *testing.T) {
		var buf bytes.Buffer
		var p progressLog
		n, err := c.Snapshots.Download(ctx, "good", &buf, p.fn)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(len(data)) || sha256.Sum256(buf.Bytes()) != sha256.Sum256(data) {
			t.Fatalf("got %d bytes, want the %d sent", n, len(data))
		}
		p.check(t, int64(len(data)), int64(len(data)))
		if p.calls[0] != [2]int64{0, int64(len(data))} {
			t.Fatalf("first progress %v", p.calls[0])
		}
	})
	t.Run("unknown length", func(t *testing.T) {
		var buf bytes.Buffer
		var p progressLog
		n, err := c.Snapshots.Download(ctx, "chunked", &buf, p.fn)
		if err != nil || n != int64(len(data)) || !bytes.Equal(buf.Bytes(), data) {
			t.Fatalf("n=%d err=%v", n, err)
		}
		p.check(t, -1, int64(len(data)))
	})
	t.Run("no progress callback", func(t *testing.T) {
		n, err := c.Snapshots.Download(ctx, "good", io.Discard, nil)
		if err != nil || n != int64(len(data)) {
			t.Fatalf("n=%d err=%v", n, err)
		}
	})
	t.Run("failed snapshot", func(t *testing.T) {
		var buf bytes.Buffer
		_, err := c.Snapshots.Download(ctx, "failed", &buf, nil)
		if ErrorCode(err) != CodeSnapshotAction || buf.Len() != 0 || IsRetryable(err) {
			t.Fatalf("err = %v, wrote %d", err, buf.Len())
		}
	})
	t.Run("body cut short", func(t *testing.T) {
		n, err := c.Snapshots.Download(ctx, "cut", io.Discard, nil)
		var ce *ConnError
		if !errors.As(err, &ce) || !IsRetryable(err) || n >= int64(len(data)) {
			t.Fatalf("n=%d err=%v, want a retryable *ConnError", n, err)
		}
	})
	t.Run("writer fails", func(t *testing.T) {
		_, err := c.Snapshots.Download(ctx, "good", failWriter{}, nil)
		var ce *ConnError
		if err == nil || errors.As(err, &ce) || !strings.Contains(err.Error(), "disk full") {
			t.Fatalf("err = %v, want the writer's error, not a connection error", err)
		}
	})
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestSnapshotsUpload(t *testing.T) {
	data := archive(200_000)
	sum := sha256.Sum256(data)
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /api/v3.1/snapshots/{id}/archive", func(w http.ResponseWriter, r *http.Request) {
		if u := r.URL.Query().Get("snapshot_archive_url"); u != "" {
			if r.ContentLength > 0 {
				reply(w, 400, []byte(`{"message": "body with url", "error_code": "bad_parameters_error"}`))
				return
			}
			reply(w, 201, fixture(t, "snapshots", "upload.json"))
			return
		}
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/octet-stream" || sha256.Sum256(body) != sum {
			reply(w, 400, []byte(`{"message": "bad archive", "error_code": "bad_parameters_error"}`))
			return
		}
		reply(w, 201, fixture(t, "snapshots", "upload.json"))
	})
	f := newFake(t, mux)
	c := f.client(t)
	ctx := context.Background()

	t.Run("known size", func(t *testing.T) {
		var p progressLog
		s, err := c.Snapshots.Upload(ctx, "snapshot5", bytes.NewReader(data), int64(len(data)), p.fn)
		if err != nil {
			t.Fatal(err)
		}
		if s.ID != "snapshot5" || s.Status != SnapshotUploaded {
			t.Fatalf("snapshot = %+v", s)
		}
		r := f.last(t)
		if r.Length != int64(len(data)) || len(r.TE) != 0 {
			t.Fatalf("Content-Length %d, Transfer-Encoding %v", r.Length, r.TE)
		}
		p.check(t, int64(len(data)), int64(len(data)))
	})
	t.Run("unknown size is chunked", func(t *testing.T) {
		var p progressLog
		if _, err := c.Snapshots.Upload(ctx, "snapshot5", io.MultiReader(bytes.NewReader(data)), -1, p.fn); err != nil {
			t.Fatal(err)
		}
		if r := f.last(t); r.Length != -1 || !reflect.DeepEqual(r.TE, []string{"chunked"}) {
			t.Fatalf("Content-Length %d, Transfer-Encoding %v", r.Length, r.TE)
		}
		p.check(t, -1, int64(len(data)))
	})
	t.Run("size larger than the reader", func(t *testing.T) {
		_, err := c.Snapshots.Upload(ctx, "snapshot5", bytes.NewReader(data[:10]), 20, nil)
		if err == nil {
			t.Fatal("a short body must fail")
		}
	})
	t.Run("from a URL", func(t *testing.T) {
		s, err := c.Snapshots.UploadURL(ctx, "snapshot5", "http://url/to/archive.zip")
		if err != nil || s.Status != SnapshotUploaded {
			t.Fatalf("%+v %v", s, err)
		}
		r := f.last(t)
		if r.Query["snapshot_archive_url"][0] != "http://url/to/archive.zip" || len(r.Body) != 0 {
			t.Fatalf("query %v body %q", r.Query, r.Body)
		}
		if _, err := c.Snapshots.UploadURL(ctx, "snapshot5", "relative/path.zip"); err == nil {
			t.Fatal("a relative URL must be refused")
		}
	})
}
