package manager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/plugins/manager/client"
	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Snapshot is a snapshot record as actions output it.
type Snapshot struct {
	ID         string `cty:"id"`
	Status     string `cty:"status"`
	CreatedAt  string `cty:"created_at"`
	CreatedBy  string `cty:"created_by"`
	Error      string `cty:"error"`
	TenantName string `cty:"tenant_name"`
	Visibility string `cty:"visibility"`
}

func snapshotOf(s *client.Snapshot) Snapshot {
	return Snapshot{ID: s.ID, Status: s.Status, CreatedAt: s.CreatedAt, CreatedBy: s.CreatedBy,
		Error: s.Error, TenantName: s.TenantName, Visibility: s.Visibility}
}

// SnapshotCreateIn are snapshot_create's inputs.
type SnapshotCreateIn struct {
	SnapshotID         string `cty:"snapshot_id" runbook:"required" help:"ID of the new snapshot."`
	IncludeCredentials *bool  `cty:"include_credentials" help:"Include the agents' credentials (the manager's default: true)."`
	IncludeLogs        *bool  `cty:"include_logs" help:"Include the logs (default true)."`
	IncludeEvents      *bool  `cty:"include_events" help:"Include the events (default true)."`
	Queue              bool   `cty:"queue" help:"Queue the snapshot behind running executions instead of failing."`
}

// SnapshotCreateOut are snapshot_create's outputs.
type SnapshotCreateOut struct {
	SnapshotID  string `cty:"snapshot_id"`
	Status      string `cty:"status"`
	ExecutionID string `cty:"execution_id"`
	CreatedAt   string `cty:"created_at"`
}

// SnapshotIDIn is the input of the actions that take only a snapshot.
type SnapshotIDIn struct {
	SnapshotID string `cty:"snapshot_id" runbook:"required" help:"The snapshot's ID."`
}

// SnapshotGetOut are snapshot_get's outputs.
type SnapshotGetOut struct {
	SnapshotID string `cty:"snapshot_id"`
	Status     string `cty:"status"`
	CreatedAt  string `cty:"created_at"`
	CreatedBy  string `cty:"created_by"`
	Error      string `cty:"error"`
	TenantName string `cty:"tenant_name"`
	Visibility string `cty:"visibility"`
}

func snapshotGetOut(s *client.Snapshot) SnapshotGetOut {
	return SnapshotGetOut{SnapshotID: s.ID, Status: s.Status, CreatedAt: s.CreatedAt, CreatedBy: s.CreatedBy,
		Error: s.Error, TenantName: s.TenantName, Visibility: s.Visibility}
}

// SnapshotListIn are snapshot_list's inputs.
type SnapshotListIn struct {
	Search     string   `cty:"search" help:"Only snapshots whose ID contains this text."`
	Status     []string `cty:"status" help:"Only snapshots in one of these statuses (created, failed, creating, uploaded)."`
	Sort       string   `cty:"sort" help:"Sort field, \"-field\" for descending; default \"-created_at\" (newest first)."`
	AllTenants bool     `cty:"all_tenants" help:"List the snapshots of every tenant."`
}

// SnapshotListOut are snapshot_list's outputs.
type SnapshotListOut struct {
	Snapshots []Snapshot `cty:"snapshots"`
	IDs       []string   `cty:"ids"`
}

// SnapshotDownloadIn are snapshot_download's inputs.
type SnapshotDownloadIn struct {
	SnapshotID string `cty:"snapshot_id" runbook:"required" help:"The snapshot to download."`
	Path       string `cty:"path" runbook:"required" help:"Where to write the archive; its directory is created. The file appears only once complete."`
	Mode       string `cty:"mode" help:"File mode of the archive, an octal string; default \"0600\" (it may hold credentials)."`
}

// SnapshotDownloadOut are snapshot_download's outputs.
type SnapshotDownloadOut struct {
	Path   string `cty:"path"`
	SHA256 string `cty:"sha256"`
	Size   int64  `cty:"size"`
}

// SnapshotUploadIn are snapshot_upload's inputs.
type SnapshotUploadIn struct {
	SnapshotID string `cty:"snapshot_id" runbook:"required" help:"ID the snapshot gets on the manager."`
	Path       string `cty:"path" help:"Local archive to stream to the manager."`
	URL        string `cty:"url" help:"URL the manager fetches the archive from itself (snapshot_archive_url), instead of path."`
}

// SnapshotUploadOut are snapshot_upload's outputs.
type SnapshotUploadOut struct {
	SnapshotID string `cty:"snapshot_id"`
	Status     string `cty:"status"`
	Size       *int64 `cty:"size"`
	SHA256     string `cty:"sha256"`
}

// SnapshotDeleteIn are snapshot_delete's inputs.
type SnapshotDeleteIn struct {
	SnapshotID string `cty:"snapshot_id" runbook:"required" help:"The snapshot to delete."`
	MissingOK  bool   `cty:"missing_ok" help:"Succeed when the snapshot does not exist."`
}

// SnapshotDeleteOut are snapshot_delete's outputs.
type SnapshotDeleteOut struct {
	SnapshotID string `cty:"snapshot_id"`
	Deleted    bool   `cty:"deleted"`
}

func (m *mgr) registerSnapshots(p *sdk.Provider) {
	p.Action("snapshot_create", sdk.Action[SnapshotCreateIn, SnapshotCreateOut]{
		Description: "Create a snapshot (PUT /snapshots/{id}) and wait until its create_snapshot execution ends and the snapshot is created.",
		Mutating:    true,
		Apply:       m.snapshotCreate,
		Plan: func(_ context.Context, in SnapshotCreateIn) (SnapshotCreateOut, []string, error) {
			return SnapshotCreateOut{SnapshotID: in.SnapshotID, Status: client.SnapshotCreated}, []string{"snapshot_id", "status"}, nil
		},
		Check: m.snapshotCreateCheck,
	})
	p.Action("snapshot_list", sdk.Action[SnapshotListIn, SnapshotListOut]{
		Description: "List snapshots (GET /snapshots), newest first unless sort says otherwise.",
		Idempotent:  true,
		Apply: func(ctx context.Context, in SnapshotListIn, _ sdk.Reporter) (SnapshotListOut, error) {
			return m.snapshotList(ctx, in)
		},
		Plan: func(ctx context.Context, in SnapshotListIn) (SnapshotListOut, []string, error) {
			out, err := m.snapshotList(ctx, in)
			return out, []string{"snapshots", "ids"}, err
		},
	})
	p.Action("snapshot_get", sdk.Action[SnapshotIDIn, SnapshotGetOut]{
		Description: "Read a snapshot (GET /snapshots/{id}); an unknown snapshot fails the step.",
		Idempotent:  true,
		Apply: func(ctx context.Context, in SnapshotIDIn, _ sdk.Reporter) (SnapshotGetOut, error) {
			c, _, err := m.client()
			if err != nil {
				return SnapshotGetOut{}, err
			}
			s, err := c.Snapshots.Get(ctx, in.SnapshotID)
			if err != nil {
				return SnapshotGetOut{}, apiErr(err)
			}
			return snapshotGetOut(s), nil
		},
		Plan: func(ctx context.Context, in SnapshotIDIn) (SnapshotGetOut, []string, error) {
			c, _, err := m.client()
			if err != nil {
				return SnapshotGetOut{}, nil, err
			}
			s, err := c.Snapshots.Get(ctx, in.SnapshotID)
			switch {
			case client.IsNotFound(err):
				// An earlier step may create it: known at apply.
				return SnapshotGetOut{SnapshotID: in.SnapshotID}, []string{"snapshot_id"}, nil
			case err != nil:
				return SnapshotGetOut{}, nil, apiErr(err)
			}
			return snapshotGetOut(s), []string{"snapshot_id", "status", "created_at", "created_by", "error", "tenant_name", "visibility"}, nil
		},
	})
	p.Action("snapshot_download", sdk.Action[SnapshotDownloadIn, SnapshotDownloadOut]{
		Description: "Stream a snapshot's archive (GET /snapshots/{id}/archive) to a local file, with its sha256 and size; the file appears under its name only once complete.",
		Mutating:    true, // it writes a local file
		Idempotent:  true,
		Apply:       m.snapshotDownload,
		Plan: func(_ context.Context, in SnapshotDownloadIn) (SnapshotDownloadOut, []string, error) {
			if _, err := fileMode(in.Mode); err != nil {
				return SnapshotDownloadOut{}, nil, err
			}
			return SnapshotDownloadOut{Path: in.Path}, []string{"path"}, nil
		},
		Check: func(ctx context.Context, in SnapshotDownloadIn, _ time.Time) (sdk.CheckResult, SnapshotDownloadOut, error) {
			// The archive is renamed into place only when complete: a file
			// under its name is a whole download.
			sum, size, err := hashFile(ctx, in.Path)
			switch {
			case errors.Is(err, os.ErrNotExist):
				return sdk.NotApplied, SnapshotDownloadOut{}, nil
			case err != nil:
				return sdk.Unknown, SnapshotDownloadOut{}, err
			}
			return sdk.Applied, SnapshotDownloadOut{Path: in.Path, SHA256: sum, Size: size}, nil
		},
	})
	p.Action("snapshot_upload", sdk.Action[SnapshotUploadIn, SnapshotUploadOut]{
		Description: "Upload a snapshot archive (PUT /snapshots/{id}/archive): stream a local file, or have the manager fetch a URL.",
		Mutating:    true,
		Apply:       m.snapshotUpload,
		Plan: func(_ context.Context, in SnapshotUploadIn) (SnapshotUploadOut, []string, error) {
			if err := uploadSource(in); err != nil {
				return SnapshotUploadOut{}, nil, err
			}
			out := SnapshotUploadOut{SnapshotID: in.SnapshotID, Status: client.SnapshotUploaded}
			known := []string{"snapshot_id", "status"}
			if in.Path == "" {
				out.SHA256 = ""
				known = append(known, "sha256", "size")
			} else if fi, err := os.Stat(in.Path); err == nil {
				// An earlier step may still write it: only a present file
				// says anything.
				n := fi.Size()
				out.Size = &n
				known = append(known, "size")
			}
			return out, known, nil
		},
		Check: func(ctx context.Context, in SnapshotUploadIn, _ time.Time) (sdk.CheckResult, SnapshotUploadOut, error) {
			c, _, err := m.client()
			if err != nil {
				return sdk.Unknown, SnapshotUploadOut{}, err
			}
			s, err := c.Snapshots.Get(ctx, in.SnapshotID)
			switch {
			case client.IsNotFound(err):
				return sdk.NotApplied, SnapshotUploadOut{}, nil
			case err != nil:
				return sdk.Unknown, SnapshotUploadOut{}, err
			case s.Status != client.SnapshotUploaded && s.Status != client.SnapshotCreated:
				return sdk.Unknown, SnapshotUploadOut{}, nil
			}
			out := SnapshotUploadOut{SnapshotID: s.ID, Status: s.Status}
			if in.Path != "" {
				if sum, size, err := hashFile(ctx, in.Path); err == nil {
					out.SHA256, out.Size = sum, &size
				}
			}
			return sdk.Applied, out, nil
		},
	})
	p.Action("snapshot_delete", sdk.Action[SnapshotDeleteIn, SnapshotDeleteOut]{
		Description: "Delete a snapshot (DELETE /snapshots/{id}).",
		Mutating:    true,
		Apply:       m.snapshotDelete,
		Plan: func(_ context.Context, in SnapshotDeleteIn) (SnapshotDeleteOut, []string, error) {
			return SnapshotDeleteOut{SnapshotID: in.SnapshotID}, []string{"snapshot_id"}, nil
		},
		Check: func(ctx context.Context, in SnapshotDeleteIn, _ time.Time) (sdk.CheckResult, SnapshotDeleteOut, error) {
			c, _, err := m.client()
			if err != nil {
				return sdk.Unknown, SnapshotDeleteOut{}, err
			}
			_, err = c.Snapshots.Get(ctx, in.SnapshotID)
			switch {
			case client.IsNotFound(err):
				return sdk.Applied, SnapshotDeleteOut{SnapshotID: in.SnapshotID, Deleted: true}, nil
			case err != nil:
				return sdk.Unknown, SnapshotDeleteOut{}, err
			}
			return sdk.NotApplied, SnapshotDeleteOut{}, nil
		},
	})
}

// snapshotCreate adopts a snapshot of the same ID that an earlier attempt of
// the step created (its answer lost, or the attempt timed out), so that a
// retry waits for it instead of failing with 409 conflict_error.
func (m *mgr) snapshotCreate(ctx context.Context, in SnapshotCreateIn, r sdk.Reporter) (SnapshotCreateOut, error) {
	c, poll, err := m.client()
	if err != nil {
		return SnapshotCreateOut{}, err
	}
	existing, err := c.Snapshots.Get(ctx, in.SnapshotID)
	switch {
	case client.IsNotFound(err):
		existing = nil
	case err != nil:
		return SnapshotCreateOut{}, apiErr(err)
	}
	var execID string
	switch {
	case existing == nil:
		x, err := c.Snapshots.Create(ctx, in.SnapshotID, client.CreateOptions{
			IncludeCredentials: in.IncludeCredentials, IncludeLogs: in.IncludeLogs, IncludeEvents: in.IncludeEvents,
			Queue: client.Bool(in.Queue),
		})
		if err != nil {
			return SnapshotCreateOut{}, apiErr(err)
		}
		execID = x.ID
		r.Log(sdk.LevelInfo, fmt.Sprintf("creating snapshot %s: create_snapshot execution %s is %s", in.SnapshotID, x.ID, x.Status))
		_, err = c.WaitExecution(ctx, x.ID, poll, func(ev client.Event) { logEvent(r, ev) })
		var xe *client.ExecutionError
		if errors.As(err, &xe) {
			return SnapshotCreateOut{}, fmt.Errorf("snapshot %s was not created: %w", in.SnapshotID, err)
		}
		if err != nil {
			return SnapshotCreateOut{}, err
		}
	case existing.Status == client.SnapshotFailed:
		return SnapshotCreateOut{}, sdk.AttributeError("snapshot_id", fmt.Errorf(
			"snapshot %s already exists and failed (%s): delete it or choose another snapshot_id", in.SnapshotID, orNone(existing.Error)))
	case existing.Status == client.SnapshotUploaded:
		return SnapshotCreateOut{}, sdk.AttributeError("snapshot_id", fmt.Errorf(
			"snapshot %s already exists as an uploaded snapshot: choose another snapshot_id", in.SnapshotID))
	default:
		r.Log(sdk.LevelInfo, fmt.Sprintf("snapshot %s already exists (%s): taking it over", in.SnapshotID, existing.Status))
	}
	// Poll the snapshot itself: it is allowed in maintenance mode, and it
	// is what a download needs.
	var s *client.Snapshot
	err = persist(ctx, poll, func() error {
		for {
			var err error
			s, err = c.Snapshots.Get(ctx, in.SnapshotID)
			if err != nil || s.Ended() {
				return err
			}
			if err := sleep(ctx, poll); err != nil {
				return err
			}
		}
	})
	if err != nil {
		return SnapshotCreateOut{}, err
	}
	if s.Status != client.SnapshotCreated {
		return SnapshotCreateOut{}, fmt.Errorf("snapshot %s is %s, not created: %s", in.SnapshotID, s.Status, orNone(s.Error))
	}
	r.Log(sdk.LevelInfo, "snapshot "+in.SnapshotID+" created")
	return SnapshotCreateOut{SnapshotID: s.ID, Status: s.Status, ExecutionID: execID, CreatedAt: s.CreatedAt}, nil
}

// snapshotCreateCheck: the snapshot exists and is created (applied), does
// not exist (not applied), or is still being created or failed (the
// operator decides).
func (m *mgr) snapshotCreateCheck(ctx context.Context, in SnapshotCreateIn, _ time.Time) (sdk.CheckResult, SnapshotCreateOut, error) {
	c, _, err := m.client()
	if err != nil {
		return sdk.Unknown, SnapshotCreateOut{}, err
	}
	s, err := c.Snapshots.Get(ctx, in.SnapshotID)
	switch {
	case client.IsNotFound(err):
		return sdk.NotApplied, SnapshotCreateOut{}, nil
	case err != nil:
		return sdk.Unknown, SnapshotCreateOut{}, err
	case s.Status == client.SnapshotCreated:
		return sdk.Applied, SnapshotCreateOut{SnapshotID: s.ID, Status: s.Status, CreatedAt: s.CreatedAt}, nil
	}
	return sdk.Unknown, SnapshotCreateOut{}, nil
}

func (m *mgr) snapshotList(ctx context.Context, in SnapshotListIn) (SnapshotListOut, error) {
	c, _, err := m.client()
	if err != nil {
		return SnapshotListOut{}, err
	}
	opts := &client.ListOptions{Search: in.Search, Sort: in.Sort, AllTenants: in.AllTenants, All: true}
	if opts.Sort == "" {
		opts.Sort = "-created_at"
	}
	if len(in.Status) > 0 {
		opts.Filters = map[string][]string{"status": in.Status}
	}
	l, err := c.Snapshots.List(ctx, opts)
	if err != nil {
		return SnapshotListOut{}, apiErr(err)
	}
	out := SnapshotListOut{Snapshots: []Snapshot{}, IDs: []string{}}
	for i := range l.Items {
		out.Snapshots = append(out.Snapshots, snapshotOf(&l.Items[i]))
		out.IDs = append(out.IDs, l.Items[i].ID)
	}
	return out, nil
}

// snapshotDownload writes to a temporary file beside path and renames it
// into place once complete and synced: path never holds a partial archive.
func (m *mgr) snapshotDownload(ctx context.Context, in SnapshotDownloadIn, r sdk.Reporter) (SnapshotDownloadOut, error) {
	c, _, err := m.client()
	if err != nil {
		return SnapshotDownloadOut{}, err
	}
	mode, err := fileMode(in.Mode)
	if err != nil {
		return SnapshotDownloadOut{}, err
	}
	dir, base := filepath.Split(in.Path)
	if base == "" {
		return SnapshotDownloadOut{}, sdk.AttributeError("path", fmt.Errorf("path %q names a directory; give the archive's file name", in.Path))
	}
	if dir == "" {
		dir = "."
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return SnapshotDownloadOut{}, sdk.AttributeError("path", err)
	}
	tmp, err := os.CreateTemp(dir, "."+base+".partial-*")
	if err != nil {
		return SnapshotDownloadOut{}, sdk.AttributeError("path", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	h := sha256.New()
	pr := &progress{r: r}
	n, err := c.Snapshots.Download(ctx, in.SnapshotID, io.MultiWriter(tmp, h), pr.report)
	if err != nil {
		return SnapshotDownloadOut{}, apiErr(err)
	}
	if pr.last != n {
		r.Progress(n, n, "bytes")
	}
	if err := tmp.Chmod(mode); err != nil {
		return SnapshotDownloadOut{}, err
	}
	if err := tmp.Sync(); err != nil {
		return SnapshotDownloadOut{}, err
	}
	if err := tmp.Close(); err != nil {
		return SnapshotDownloadOut{}, err
	}
	if err := os.Rename(tmp.Name(), in.Path); err != nil {
		return SnapshotDownloadOut{}, err
	}
	done = true
	syncDir(dir)
	sum := hex.EncodeToString(h.Sum(nil))
	r.Log(sdk.LevelInfo, fmt.Sprintf("downloaded snapshot %s to %s: %d bytes, sha256 %s", in.SnapshotID, in.Path, n, sum))
	return SnapshotDownloadOut{Path: in.Path, SHA256: sum, Size: n}, nil
}

func uploadSource(in SnapshotUploadIn) error {
	switch {
	case in.Path == "" && in.URL == "":
		return sdk.AttributeError("path", errors.New("set path (a local archive) or url (an archive the manager fetches)"))
	case in.Path != "" && in.URL != "":
		return sdk.AttributeError("url", errors.New("set path or url, not both"))
	}
	return nil
}

func (m *mgr) snapshotUpload(ctx context.Context, in SnapshotUploadIn, r sdk.Reporter) (SnapshotUploadOut, error) {
	c, poll, err := m.client()
	if err != nil {
		return SnapshotUploadOut{}, err
	}
	if err := uploadSource(in); err != nil {
		return SnapshotUploadOut{}, err
	}
	out := SnapshotUploadOut{SnapshotID: in.SnapshotID}
	var s *client.Snapshot
	if in.URL != "" {
		s, err = c.Snapshots.UploadURL(ctx, in.SnapshotID, in.URL)
		if err != nil {
			return SnapshotUploadOut{}, apiErr(err)
		}
	} else {
		f, err := os.Open(in.Path)
		if err != nil {
			return SnapshotUploadOut{}, sdk.AttributeError("path", err)
		}
		defer func() { _ = f.Close() }()
		fi, err := f.Stat()
		if err != nil {
			return SnapshotUploadOut{}, sdk.AttributeError("path", err)
		}
		if !fi.Mode().IsRegular() {
			return SnapshotUploadOut{}, sdk.AttributeError("path", fmt.Errorf("%s is not a regular file", in.Path))
		}
		h := sha256.New()
		pr := &progress{r: r}
		s, err = c.Snapshots.Upload(ctx, in.SnapshotID, io.TeeReader(f, h), fi.Size(), pr.report)
		if err != nil {
			return SnapshotUploadOut{}, apiErr(err)
		}
		size := fi.Size()
		out.Size, out.SHA256 = &size, hex.EncodeToString(h.Sum(nil))
	}
	if s.ID == "" || s.Status == "" {
		// Uploading onto an existing ID stores the archive and answers a
		// snapshot of nulls: read the record.
		r.Log(sdk.LevelWarn, "snapshot "+in.SnapshotID+" already existed: the manager replaced its archive")
		err := persist(ctx, poll, func() (err error) { s, err = c.Snapshots.Get(ctx, in.SnapshotID); return err })
		if err != nil {
			return SnapshotUploadOut{}, err
		}
	}
	out.Status = s.Status
	r.Log(sdk.LevelInfo, fmt.Sprintf("uploaded snapshot %s (%s)", in.SnapshotID, s.Status))
	return out, nil
}

func (m *mgr) snapshotDelete(ctx context.Context, in SnapshotDeleteIn, r sdk.Reporter) (SnapshotDeleteOut, error) {
	c, _, err := m.client()
	if err != nil {
		return SnapshotDeleteOut{}, err
	}
	err = c.Snapshots.Delete(ctx, in.SnapshotID)
	switch {
	case client.IsNotFound(err) && in.MissingOK:
		r.Log(sdk.LevelInfo, "snapshot "+in.SnapshotID+" does not exist: nothing to delete")
		return SnapshotDeleteOut{SnapshotID: in.SnapshotID}, nil
	case err != nil:
		return SnapshotDeleteOut{}, apiErr(err)
	}
	r.Log(sdk.LevelInfo, "deleted snapshot "+in.SnapshotID)
	return SnapshotDeleteOut{SnapshotID: in.SnapshotID, Deleted: true}, nil
}

func fileMode(s string) (os.FileMode, error) {
	if s == "" {
		return 0o600, nil
	}
	var mode uint32
	if _, err := fmt.Sscanf(s, "%o", &mode); err != nil || mode > 0o777 || strings.TrimLeft(s, "01234567") != "" {
		return 0, sdk.AttributeError("mode", fmt.Errorf("mode %q is not an octal file mode such as \"0600\"", s))
	}
	return os.FileMode(mode), nil
}

// hashFile returns the sha256 and size of a file.
func hashFile(ctx context.Context, path string) (string, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", 0, err
	}
	defer func() { _ = f.Close() }()
	h := sha256.New()
	n, err := io.Copy(h, ctxReader{ctx, f})
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(b []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(b)
}

// syncDir makes a rename durable; best effort (not every system can sync
// a directory).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
		return nil
	}
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "no error message"
	}
	return strings.TrimSpace(s)
}
