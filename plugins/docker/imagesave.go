package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/renameio/v2"
	"github.com/moby/moby/client"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// ImageSaveIn are image_save's inputs.
type ImageSaveIn struct {
	Images []string `cty:"images" runbook:"required" help:"References or IDs of the images to put in one archive, as docker save takes them."`
	Path   string   `cty:"path" runbook:"required" help:"Where to write the tar archive; its directory is created. The file appears under its name only once complete."`
	Mode   string   `cty:"mode" help:"File mode of the archive, an octal string; default \"0600\" (images may hold secrets)."`
}

// ImageSaveOut are image_save's outputs.
type ImageSaveOut struct {
	Path       string   `cty:"path"`
	SHA256     string   `cty:"sha256"`
	Size       int64    `cty:"size" help:"Bytes."`
	Images     []string `cty:"images" help:"The images requested, as given."`
	IDs        []string `cty:"ids" help:"The config digests of the images in the archive (their IDs on the classic image store), in the archive's order."`
	References []string `cty:"references" help:"The tags the archive holds."`
}

func (d *docker) registerImageSave(p *sdk.Provider) {
	p.Action("image_save", sdk.Action[ImageSaveIn, ImageSaveOut]{
		Description: "Save images into one tar archive (GET /images/get), as docker save -o does, with its sha256 and size.",
		Mutating:    true, // it writes a local file
		Idempotent:  true,
		Apply:       d.imageSave,
		Plan: func(_ context.Context, in ImageSaveIn) (ImageSaveOut, []string, error) {
			if err := checkSaveInputs(in); err != nil {
				return ImageSaveOut{}, nil, err
			}
			return ImageSaveOut{Path: in.Path, Images: in.Images}, []string{"path", "images"}, nil
		},
		Check: imageSaveCheck,
	})
}

func checkSaveInputs(in ImageSaveIn) error {
	if len(in.Images) == 0 {
		return sdk.AttributeError("images", errors.New("images is empty: name at least one image to save"))
	}
	for i, img := range in.Images {
		if strings.TrimSpace(img) == "" {
			return sdk.AttributePathError(cty.GetAttrPath("images").IndexInt(i), fmt.Errorf("images[%d] is empty", i))
		}
	}
	if _, err := fileMode(in.Mode); err != nil {
		return err
	}
	if strings.HasSuffix(in.Path, string(filepath.Separator)) || filepath.Base(in.Path) == "." {
		return sdk.AttributeError("path", fmt.Errorf("path %q names a directory; give the archive's file name", in.Path))
	}
	return nil
}

func (d *docker) imageSave(ctx context.Context, in ImageSaveIn, r sdk.Reporter) (ImageSaveOut, error) {
	c, err := d.client()
	if err != nil {
		return ImageSaveOut{}, err
	}
	if err := checkSaveInputs(in); err != nil {
		return ImageSaveOut{}, err
	}
	// The daemon's own answer to a missing image does not say which one
	// (or is a 500 for an unknown ID): ask first, cheaply.
	for _, img := range in.Images {
		if _, err := c.ImageInspect(ctx, img); err != nil {
			return ImageSaveOut{}, apiErr(c, quote("image", img), err)
		}
	}
	a, err := writeArchive(ctx, c, in, r)
	if err != nil {
		return ImageSaveOut{}, err
	}
	for _, img := range in.Images {
		if !a.has(img) {
			r.Log(sdk.LevelWarn, fmt.Sprintf("the archive's manifest does not name %s (a digest reference?): a resume would save it again", img))
		}
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("saved %s to %s: %d bytes, sha256 %s", strings.Join(in.Images, ", "), in.Path, a.size, a.sha256))
	return saveOut(in, a), nil
}

// writeArchive streams the daemon's tar into a temporary file beside
// path, hashing it and reading its manifest on the way, then fsyncs it,
// renames it into place and fsyncs the directory: path holds the old file
// or the whole new one, never part of it, even across a crash.
func writeArchive(ctx context.Context, c *client.Client, in ImageSaveIn, r sdk.Reporter) (*archive, error) {
	mode, _ := fileMode(in.Mode)
	dir := filepath.Dir(in.Path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, sdk.AttributeError("path", err)
	}
	pf, err := renameio.NewPendingFile(in.Path, renameio.WithTempDir(dir), renameio.WithStaticPermissions(mode))
	if err != nil {
		return nil, sdk.AttributeError("path", fmt.Errorf("creating a temporary file beside %s: %w", in.Path, err))
	}
	defer func() { _ = pf.Cleanup() }() // a no-op once the archive is in place

	what := imagesWhat(in.Images)
	body, err := c.ImageSave(ctx, in.Images)
	if err != nil {
		return nil, apiErr(c, what, err)
	}
	defer func() { _ = body.Close() }()
	pr := newProgress(r, 0)
	a, err := scanArchive(body, io.MultiWriter(fileWriter{pf}, pr))
	if err != nil {
		return nil, saveStreamErr(c, what, in.Path, err)
	}
	pr.finish()
	if err := pf.CloseAtomicallyReplace(); err != nil {
		return nil, fmt.Errorf("putting the archive in place at %s: %w", in.Path, err)
	}
	if err := syncDir(dir); err != nil {
		r.Log(sdk.LevelWarn, fmt.Sprintf("the archive is in place but syncing directory %s failed (%s): it may not survive a power loss", dir, err))
	}
	return a, nil
}

func saveOut(in ImageSaveIn, a *archive) ImageSaveOut {
	return ImageSaveOut{Path: in.Path, SHA256: a.sha256, Size: a.size, Images: in.Images, IDs: a.ids(), References: a.references()}
}

// saveStreamErr: a full disk is not the daemon's fault, and a retry would
// not help; a stream cut short is, and may.
func saveStreamErr(c *client.Client, what, path string, err error) error {
	var we *writeError
	switch {
	case errors.As(err, &we):
		return fmt.Errorf("writing the archive of %s beside %s: %w", what, path, we.err)
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("saving %s: %w", what, err)
	}
	return sdk.Retryable(&apiError{msg: fmt.Sprintf("reading the archive of %s from the daemon at %s: %v", what, c.DaemonHost(), err), err: err})
}

// imageSaveCheck: the archive is renamed into place only when complete, so
// a file at path that is a tar whose manifest names every requested image
// is a whole save. Anything else is saved again.
func imageSaveCheck(ctx context.Context, in ImageSaveIn, _ time.Time) (sdk.CheckResult, ImageSaveOut, error) {
	a, err := scanFile(ctx, in.Path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return sdk.NotApplied, ImageSaveOut{}, nil
	case err != nil && ctx.Err() != nil:
		return sdk.Unknown, ImageSaveOut{}, err
	case err != nil:
		return sdk.NotApplied, ImageSaveOut{}, nil
	}
	for _, img := range in.Images {
		if !a.has(img) {
			return sdk.NotApplied, ImageSaveOut{}, nil
		}
	}
	return sdk.Applied, saveOut(in, a), nil
}

// imagesWhat names the images of a save in messages.
func imagesWhat(images []string) string {
	if len(images) == 1 {
		return quote("image", images[0])
	}
	q := make([]string, len(images))
	for i, img := range images {
		q[i] = fmt.Sprintf("%q", img)
	}
	return "images " + strings.Join(q, ", ")
}
