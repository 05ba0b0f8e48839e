package client

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// Snapshot statuses (cloudify/models_states.py SnapshotState). The REST
// reference's "uploading" does not exist.
const (
	SnapshotCreated  = "created"
	SnapshotFailed   = "failed"
	SnapshotCreating = "creating"
	SnapshotUploaded = "uploaded"
)

// Snapshot is a snapshot record.
type Snapshot struct {
	ID                   string `json:"id"`
	CreatedAt            string `json:"created_at"`
	Status               string `json:"status"`
	Error                string `json:"error"`
	CreatedBy            string `json:"created_by"`
	TenantName           string `json:"tenant_name"`
	Visibility           string `json:"visibility"`
	PrivateResource      bool   `json:"private_resource"`
	ResourceAvailability string `json:"resource_availability"`
}

// Ended reports whether the snapshot reached an end state (created, failed,
// uploaded).
func (s *Snapshot) Ended() bool {
	switch s.Status {
	case SnapshotCreated, SnapshotFailed, SnapshotUploaded:
		return true
	}
	return false
}

// SnapshotsService holds the /snapshots endpoints.
type SnapshotsService struct{ c *Client }

// List lists snapshots (GET /snapshots).
func (s *SnapshotsService) List(ctx context.Context, opts *ListOptions) (*List[Snapshot], error) {
	return list[Snapshot](ctx, s.c, "/snapshots", opts, nil, nil)
}

// Get reads one snapshot (GET /snapshots/{id}).
func (s *SnapshotsService) Get(ctx context.Context, id string) (*Snapshot, error) {
	if err := needID("snapshot", id); err != nil {
		return nil, err
	}
	var out Snapshot
	if err := s.c.doJSON(ctx, &request{method: "GET", path: pathOf("snapshots", id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateOptions is the create body. Unset fields are left out so that the
// server's defaults apply: include_credentials, include_logs and
// include_events default to true, queue to false.
type CreateOptions struct {
	IncludeCredentials *bool
	IncludeLogs        *bool
	IncludeEvents      *bool
	Queue              *bool
	TempdirPath        string
	Legacy             *bool
	ListenerTimeout    *float64
}

// Create starts the create_snapshot workflow (PUT /snapshots/{id}) and
// returns its execution; the snapshot is "creating" until it ends.
func (s *SnapshotsService) Create(ctx context.Context, id string, opts CreateOptions) (*Execution, error) {
	if err := needID("snapshot", id); err != nil {
		return nil, err
	}
	body := map[string]any{}
	setBool(body, "include_credentials", opts.IncludeCredentials)
	setBool(body, "include_logs", opts.IncludeLogs)
	setBool(body, "include_events", opts.IncludeEvents)
	setBool(body, "queue", opts.Queue)
	setBool(body, "legacy", opts.Legacy)
	if opts.TempdirPath != "" {
		body["tempdir_path"] = opts.TempdirPath
	}
	if opts.ListenerTimeout != nil {
		body["listener_timeout"] = *opts.ListenerTimeout
	}
	var out Execution
	if err := s.c.doJSON(ctx, &request{method: "PUT", path: pathOf("snapshots", id), json: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Delete deletes a snapshot (DELETE /snapshots/{id}). Managers answer 200
// with the snapshot or 204; both are success.
func (s *SnapshotsService) Delete(ctx context.Context, id string) error {
	if err := needID("snapshot", id); err != nil {
		return err
	}
	return s.c.doJSON(ctx, &request{method: "DELETE", path: pathOf("snapshots", id)}, nil)
}

// Progress is called as an archive moves: done bytes so far of total
// (total is -1 when unknown).
type Progress func(done, total int64)

// Download streams the snapshot's archive (GET /snapshots/{id}/archive) into
// w and returns the number of bytes written. A failed snapshot answers 400
// snapshot_action_error. A body shorter than its Content-Length is a
// *ConnError.
func (s *SnapshotsService) Download(ctx context.Context, id string, w io.Writer, progress Progress) (int64, error) {
	if err := needID("snapshot", id); err != nil {
		return 0, err
	}
	r := &request{method: "GET", path: pathOf("snapshots", id, "archive"), header: http.Header{"Accept": {"*/*"}}}
	resp, err := s.c.do(ctx, r)
	if err != nil {
		return 0, err
	}
	defer func() { _ = resp.Body.Close() }()
	total := resp.ContentLength
	var src io.Reader = resp.Body
	if progress != nil {
		progress(0, total)
		src = &progressReader{r: resp.Body, total: total, fn: progress}
	}
	n, err := io.Copy(tagWriter{w}, src)
	if err != nil {
		path := resp.Request.URL.EscapedPath()
		var we *writeError
		if errors.As(err, &we) {
			return n, fmt.Errorf("manager API GET %s: writing the archive: %w", path, we.err)
		}
		return n, s.c.connError(ctx, "GET", path, err)
	}
	return n, nil
}

// Upload streams an archive of size bytes (-1: unknown, sent chunked) to
// PUT /snapshots/{id}/archive and returns the snapshot, "uploaded".
func (s *SnapshotsService) Upload(ctx context.Context, id string, r io.Reader, size int64, progress Progress) (*Snapshot, error) {
	if err := needID("snapshot", id); err != nil {
		return nil, err
	}
	if r == nil {
		return nil, errors.New("manager client: upload needs a reader")
	}
	if size < 0 {
		size = -1
	}
	body := r
	if progress != nil {
		progress(0, size)
		body = &progressReader{r: r, total: size, fn: progress}
	}
	req := &request{
		method:        "PUT",
		path:          pathOf("snapshots", id, "archive"),
		body:          io.NopCloser(body),
		contentLength: size,
		contentType:   "application/octet-stream",
	}
	var out Snapshot
	if err := s.c.doJSON(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UploadURL makes the manager fetch the archive itself
// (PUT /snapshots/{id}/archive?snapshot_archive_url=...).
func (s *SnapshotsService) UploadURL(ctx context.Context, id, archiveURL string) (*Snapshot, error) {
	if err := needID("snapshot", id); err != nil {
		return nil, err
	}
	u, err := url.Parse(archiveURL)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, errors.New("manager client: the snapshot archive URL must be an absolute URL")
	}
	req := &request{
		method: "PUT",
		path:   pathOf("snapshots", id, "archive"),
		query:  url.Values{"snapshot_archive_url": {archiveURL}},
	}
	var out Snapshot
	if err := s.c.doJSON(ctx, req, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RestoreOptions is the restore body. Force, RestoreCertificates and
// NoReboot are always sent (force is required by every manager). The other
// fields are sent only when set, because a manager answers 400 to null and
// the generations disagree on which keys exist:
//   - RecreateDeploymentsEnvs is required by 4.x to 5.1 managers and was
//     removed in 5.2;
//   - TenantName was read by 4.0/4.1 managers only (removed July 2017);
//   - Timeout defaults to 300 on the server;
//   - IgnorePluginFailure is sent by the Python client and ignored by the
//     server.
type RestoreOptions struct {
	Force                   bool
	RestoreCertificates     bool
	NoReboot                bool
	Timeout                 *int
	RecreateDeploymentsEnvs *bool
	TenantName              string
	IgnorePluginFailure     *bool
	// BypassMaintenance sends X-BYPASS-MAINTENANCE, which lets a user
	// allowed maintenance_mode_set through the maintenance gate.
	BypassMaintenance bool
}

// Restore starts the restore_snapshot workflow
// (POST /snapshots/{id}/restore). The manager marshals the execution with
// the Snapshot fields only, so the result has ID (the execution's id),
// Status (an execution status such as "pending"), Error, CreatedAt,
// CreatedBy and TenantName, and no WorkflowID.
func (s *SnapshotsService) Restore(ctx context.Context, id string, opts RestoreOptions) (*Execution, error) {
	if err := needID("snapshot", id); err != nil {
		return nil, err
	}
	body := map[string]any{
		"force":                opts.Force,
		"restore_certificates": opts.RestoreCertificates,
		"no_reboot":            opts.NoReboot,
	}
	if opts.Timeout != nil {
		body["timeout"] = *opts.Timeout
	}
	setBool(body, "recreate_deployments_envs", opts.RecreateDeploymentsEnvs)
	setBool(body, "ignore_plugin_failure", opts.IgnorePluginFailure)
	if opts.TenantName != "" {
		body["tenant_name"] = opts.TenantName
	}
	req := &request{method: "POST", path: pathOf("snapshots", id, "restore"), json: body}
	if opts.BypassMaintenance {
		req.header = bypassHeader()
	}
	var out Execution
	if err := s.c.doJSON(ctx, req, &out); err != nil {
		return nil, err
	}
	if out.WorkflowID == "" {
		out.WorkflowID = "restore_snapshot"
	}
	return &out, nil
}

// The /snapshot-status answers (cloudify/snapshots.py STATES), and the
// strings managers 5.0.5 to 5.0.x sent before them.
const (
	SnapshotStatusRunning    = "running"
	SnapshotStatusNotRunning = "not-running"

	legacyRestoreRunning    = "Snapshot restore in progress"
	legacyRestoreNotRunning = "No `restore_snapshot` workflow currently running"
)

// SnapshotStatus is the answer of GET /snapshot-status.
type SnapshotStatus struct {
	// Running is true while a restore_snapshot workflow runs.
	Running bool
	// Status is the raw status string.
	Status string
}

// Status asks whether a snapshot restore runs (GET /snapshot-status). The
// endpoint needs no authentication and keeps answering during a restore;
// no credentials are sent, as the restore may replace them. Both
// generations of the answer are understood; any other string is an error.
func (s *SnapshotsService) Status(ctx context.Context) (*SnapshotStatus, error) {
	req := &request{method: "GET", path: "/snapshot-status", noAuth: true}
	var body struct {
		Status *string `json:"status"`
	}
	if err := s.c.doJSON(ctx, req, &body); err != nil {
		return nil, err
	}
	if body.Status == nil {
		return nil, fmt.Errorf("manager API GET %s/snapshot-status: the answer has no status", s.c.base.EscapedPath())
	}
	st := &SnapshotStatus{Status: *body.Status}
	running, ok := parseRestoreStatus(st.Status)
	if !ok {
		return st, fmt.Errorf("manager API GET %s/snapshot-status: unknown status %q", s.c.base.EscapedPath(), st.Status)
	}
	st.Running = running
	return st, nil
}

func parseRestoreStatus(s string) (running, ok bool) {
	switch t := strings.TrimSpace(s); {
	case t == SnapshotStatusRunning:
		return true, true
	case t == SnapshotStatusNotRunning:
		return false, true
	case strings.HasPrefix(t, legacyRestoreRunning):
		return true, true
	case strings.HasPrefix(t, legacyRestoreNotRunning):
		return false, true
	}
	return false, false
}

func bypassHeader() http.Header { return http.Header{headerBypassMaintenance: {"true"}} }

func setBool(m map[string]any, key string, b *bool) {
	if b != nil {
		m[key] = *b
	}
}

func needID(what, id string) error {
	if strings.TrimSpace(id) == "" {
		return fmt.Errorf("manager client: the %s id is empty", what)
	}
	return nil
}

// progressReader reports each read to fn.
type progressReader struct {
	r     io.Reader
	done  int64
	total int64
	fn    Progress
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.done += int64(n)
		p.fn(p.done, p.total)
	}
	return n, err
}

// writeError marks a failure of the destination writer, so that Download
// does not report it as a connection error.
type writeError struct{ err error }

func (e *writeError) Error() string { return e.err.Error() }

type tagWriter struct{ w io.Writer }

func (t tagWriter) Write(b []byte) (int, error) {
	n, err := t.w.Write(b)
	if err != nil {
		err = &writeError{err}
	}
	return n, err
}
