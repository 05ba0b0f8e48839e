package docker

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"strings"

	"github.com/distribution/reference"
)

// maxManifest bounds the manifest.json read from an archive: a few hundred
// bytes per image.
const maxManifest = 16 << 20

// manifestEntry is one image of a docker save archive's manifest.json,
// which every engine writes (beside the OCI layout, since Engine 25).
type manifestEntry struct {
	Config   string
	RepoTags []string
}

// id is the image's config digest: its ID on the classic image store.
// Config is "HEX.json" (before Engine 25) or "blobs/sha256/HEX".
func (e manifestEntry) id() string {
	return "sha256:" + strings.TrimSuffix(path.Base(e.Config), ".json")
}

// archive is what scanArchive learnt of a docker save archive.
type archive struct {
	manifest []manifestEntry
	sha256   string
	size     int64
}

// ids and references list the archive's images and tags in its order.
func (a *archive) ids() []string {
	out := []string{}
	for _, e := range a.manifest {
		out = append(out, e.id())
	}
	return out
}

func (a *archive) references() []string {
	out := []string{}
	for _, e := range a.manifest {
		out = append(out, e.RepoTags...)
	}
	return out
}

// has reports whether the archive holds the image a runbook named: by a
// tag (normalized as the daemon does: "app" is "app:latest",
// "docker.io/library/app:1" is "app:1") or by an ID or ID prefix of at
// least 12 hex digits (shorter ones could be tags).
func (a *archive) has(name string) bool {
	if want, ok := normalizeRef(name); ok {
		for _, e := range a.manifest {
			for _, t := range e.RepoTags {
				if got, ok := normalizeRef(t); ok && got == want {
					return true
				}
			}
		}
	}
	hexID := strings.TrimPrefix(name, "sha256:")
	if len(hexID) < 12 || strings.Trim(hexID, "0123456789abcdef") != "" {
		return false
	}
	for _, e := range a.manifest {
		if strings.HasPrefix(strings.TrimPrefix(e.id(), "sha256:"), hexID) {
			return true
		}
	}
	return false
}

// normalizeRef is a tag reference in the daemon's familiar form.
func normalizeRef(s string) (string, bool) {
	ref, err := reference.ParseNormalizedNamed(s)
	if err != nil {
		return "", false
	}
	return reference.FamiliarString(reference.TagNameOnly(ref)), true
}

// scanArchive reads a docker save archive to its end, hashing and
// counting every byte and copying them to also when it is not nil (the
// file being written, the progress): one pass serves the digest, the size
// and the manifest, however large the archive.
func scanArchive(r io.Reader, also io.Writer) (*archive, error) {
	h := sha256.New()
	n := &counter{}
	w := io.MultiWriter(h, n)
	if also != nil {
		w = io.MultiWriter(h, n, also)
	}
	tee := io.TeeReader(r, w)
	manifest, err := findManifest(tar.NewReader(tee))
	if err != nil {
		return nil, err
	}
	// The tar reader stops at the end-of-archive marker; the padding after
	// it is part of the file too.
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return nil, err
	}
	return &archive{manifest: manifest, sha256: hex.EncodeToString(h.Sum(nil)), size: n.n}, nil
}

func findManifest(tr *tar.Reader) ([]manifestEntry, error) {
	var manifest []manifestEntry
	found := false
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if path.Clean(hdr.Name) != "manifest.json" {
			continue
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxManifest))
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &manifest); err != nil {
			return nil, fmt.Errorf("manifest.json: %w", err)
		}
		found = true
	}
	if !found {
		return nil, errors.New("not a docker save archive: it has no manifest.json")
	}
	return manifest, nil
}

// scanFile is scanArchive of a file, stopping when ctx ends.
func scanFile(ctx context.Context, name string) (*archive, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer func() { _ = f.Close() }() // read-only
	return scanArchive(ctxReader{ctx, f}, nil)
}

type counter struct{ n int64 }

func (c *counter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	return len(p), nil
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
