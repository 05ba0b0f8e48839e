package manager

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"io"
	"time"
)

// archiveContentsName is the zip entry holding what restoring the snapshot
// installs. A real snapshot holds a database dump and files; the simulator's
// holds this JSON, which is enough to restore the simulated state.
const archiveContentsName = "sim-contents.json"

// buildArchive makes a snapshot zip: metadata.json (as a real snapshot has)
// and the simulator's contents. It is deterministic for the same input.
func buildArchive(id, version string, created time.Time, c *Contents) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	add := func(name string, v any) {
		h := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: created.UTC()}
		w, err := zw.CreateHeader(h)
		if err != nil {
			return
		}
		b, _ := json.MarshalIndent(v, "", "  ")
		_, _ = w.Write(b)
	}
	add("metadata.json", map[string]any{
		"snapshot_version": version,
		"snapshot_id":      id,
		"created_at":       ts(created),
		"generator":        "runbook sim manager",
	})
	add(archiveContentsName, c)
	_ = zw.Close()
	return buf.Bytes()
}

// readArchive returns the contents stored in a simulator-made archive, or
// nil when the bytes are not one.
func readArchive(b []byte) *Contents {
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return nil
	}
	for _, f := range zr.File {
		if f.Name != archiveContentsName {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return nil
		}
		data, err := io.ReadAll(io.LimitReader(rc, 64<<20))
		_ = rc.Close()
		if err != nil {
			return nil
		}
		var c Contents
		if json.Unmarshal(data, &c) != nil {
			return nil
		}
		return &c
	}
	return nil
}

// deterministicBytes is n bytes derived from seed (an estate snapshot given
// only a size).
func deterministicBytes(seed string, n int64) []byte {
	out := make([]byte, 0, n)
	block := sha256.Sum256([]byte(seed))
	for int64(len(out)) < n {
		block = sha256.Sum256(block[:])
		out = append(out, block[:]...)
	}
	return out[:n]
}

// captureContents is what a snapshot taken now would restore: blueprints,
// deployments, plugins and user executions of every tenant.
func (st *state) captureContents() *Contents {
	c := &Contents{}
	for _, b := range st.blueprints {
		c.Blueprints = append(c.Blueprints, EstateBlueprint{
			ID: b.id, Tenant: b.tenant, CreatedAt: ts(b.createdAt), CreatedBy: b.createdBy,
			Description: b.description, MainFileName: b.mainFile, Plugins: append([]PluginRef(nil), b.plugins...),
		})
	}
	for _, d := range st.deployments {
		c.Deployments = append(c.Deployments, EstateDeployment{
			ID: d.id, Tenant: d.tenant, BlueprintID: d.blueprintID, CreatedAt: ts(d.createdAt),
			CreatedBy: d.createdBy, DisplayName: d.displayName, Workflows: append([]string(nil), d.workflows...),
		})
	}
	for _, p := range st.plugins {
		c.Plugins = append(c.Plugins, EstatePlugin{
			ID: p.id, Tenant: p.tenant, PackageName: p.packageName, PackageVersion: p.packageVersion,
			Distribution: p.distribution, UploadedAt: ts(p.uploadedAt),
		})
	}
	opt := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return ts(t)
	}
	for _, e := range st.executions {
		if e.isSystem {
			continue
		}
		c.Executions = append(c.Executions, EstateExecution{
			ID: e.id, Tenant: e.tenant, WorkflowID: e.workflowID, DeploymentID: e.deploymentID,
			Status: e.status, Error: e.errMsg, Parameters: copyMap(e.parameters), CreatedAt: opt(e.createdAt),
			StartedAt: opt(e.startedAt), EndedAt: opt(e.endedAt), ScheduledFor: opt(e.scheduledFor), CreatedBy: e.createdBy,
		})
	}
	return c
}
