package docker

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/moby/moby/client"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// ImageLoadIn are image_load's inputs.
type ImageLoadIn struct {
	Path  string `cty:"path" runbook:"required" help:"A tar archive written by image_save or docker save."`
	Quiet *bool  `cty:"quiet" help:"Ask the daemon not to stream its per-layer progress (default true); with false it goes to the step's log at debug level."`
}

// LoadedImage is one image image_load loaded.
type LoadedImage struct {
	Reference string `cty:"reference" help:"The tag loaded; empty for an image the archive holds without a tag."`
	ID        string `cty:"id"`
}

// ImageLoadOut are image_load's outputs.
type ImageLoadOut struct {
	Images     []LoadedImage `cty:"images"`
	References []string      `cty:"references"`
	IDs        []string      `cty:"ids"`
}

func (d *docker) registerImageLoad(p *sdk.Provider) {
	p.Action("image_load", sdk.Action[ImageLoadIn, ImageLoadOut]{
		Description: "Load the images of a tar archive (POST /images/load), as docker load -i does.",
		Mutating:    true, Idempotent: true, // loading twice is harmless
		Apply: d.imageLoad,
		Check: d.imageLoadCheck,
	})
}

func (d *docker) imageLoad(ctx context.Context, in ImageLoadIn, r sdk.Reporter) (ImageLoadOut, error) {
	c, err := d.client()
	if err != nil {
		return ImageLoadOut{}, err
	}
	f, size, err := openArchive(in.Path)
	if err != nil {
		return ImageLoadOut{}, err
	}
	defer func() { _ = f.Close() }() // read-only
	what := "loading " + in.Path
	quiet := in.Quiet == nil || *in.Quiet
	loaded, a, err := loadArchive(ctx, c, f, newProgress(r, size), quiet, r)
	if err != nil {
		return ImageLoadOut{}, apiErr(c, what, err)
	}
	for i, img := range loaded {
		if img.ID == "" {
			ins, err := c.ImageInspect(ctx, img.Reference)
			if err != nil {
				return ImageLoadOut{}, apiErr(c, quote("image", img.Reference)+" (just loaded)", err)
			}
			loaded[i].ID = ins.ID
		}
	}
	loaded = append(loaded, unannounced(ctx, c, a, loaded)...)
	if len(loaded) == 0 {
		return ImageLoadOut{}, fmt.Errorf("%s: the daemon reported no image loaded", what)
	}
	out := loadOut(loaded)
	r.Log(sdk.LevelInfo, fmt.Sprintf("loaded %d image(s) from %s: %s", len(out.Images), in.Path, strings.Join(describe(out.Images), ", ")))
	return out, nil
}

// loadArchive sends the archive to the daemon and reads its answer, while
// a tar reader reads the archive's manifest from the same bytes: Engine
// 20.10 announces the images it loads without a tag only when the
// archive's last image has none, so the stream alone may miss some.
func loadArchive(ctx context.Context, c *client.Client, f io.Reader, pr *progress, quiet bool, r sdk.Reporter) ([]LoadedImage, *archive, error) {
	pipeR, pipeW := io.Pipe()
	scanned := make(chan *archive, 1)
	go func() {
		a, err := scanArchive(pipeR, nil)
		if err != nil {
			a = nil
			_, _ = io.Copy(io.Discard, pipeR) // the upload must never wait on the scan
		}
		scanned <- a
	}()
	loaded, err := streamLoad(ctx, c, io.TeeReader(f, io.MultiWriter(pipeW, pr)), quiet, r)
	_ = pipeW.Close()
	a := <-scanned
	if err != nil {
		return nil, nil, err
	}
	pr.finish()
	return loaded, a, nil
}

func streamLoad(ctx context.Context, c *client.Client, body io.Reader, quiet bool, r sdk.Reporter) ([]LoadedImage, error) {
	res, err := c.ImageLoad(ctx, body, client.ImageLoadWithQuiet(quiet))
	if err != nil {
		return nil, err
	}
	defer func() { _ = res.Close() }()
	return readLoadStream(res, r)
}

// unannounced are the untagged images of the archive's manifest that the
// stream did not name, once the daemon confirms it has them.
func unannounced(ctx context.Context, c *client.Client, a *archive, loaded []LoadedImage) []LoadedImage {
	if a == nil {
		return nil
	}
	var out []LoadedImage
	for _, e := range a.manifest {
		id := e.id()
		if len(e.RepoTags) > 0 || slices.ContainsFunc(loaded, func(l LoadedImage) bool { return l.ID == id }) {
			continue
		}
		if ins, err := c.ImageInspect(ctx, id); err == nil && ins.ID == id {
			out = append(out, LoadedImage{ID: id})
		}
	}
	return out
}

// loadOut lists each tag loaded, and each image loaded without one. The
// daemon also announces the ID of a tagged image ("Loaded image ID" beside
// "Loaded image"), which adds nothing.
func loadOut(loaded []LoadedImage) ImageLoadOut {
	tagged := map[string]bool{}
	for _, img := range loaded {
		if img.Reference != "" {
			tagged[img.ID] = true
		}
	}
	out := ImageLoadOut{Images: []LoadedImage{}, References: []string{}, IDs: []string{}}
	seen := map[LoadedImage]bool{}
	for _, img := range loaded {
		if !seen[img] && (img.Reference != "" || !tagged[img.ID]) {
			seen[img] = true
			out.add(img)
		}
	}
	return out
}

// add lists an image; ids lists each image once, whatever its tags.
func (o *ImageLoadOut) add(img LoadedImage) {
	o.Images = append(o.Images, img)
	if img.Reference != "" {
		o.References = append(o.References, img.Reference)
	}
	if !slices.Contains(o.IDs, img.ID) {
		o.IDs = append(o.IDs, img.ID)
	}
}

func describe(images []LoadedImage) []string {
	out := make([]string, len(images))
	for i, img := range images {
		out[i] = img.ID
		if img.Reference != "" {
			out[i] = img.Reference + " (" + img.ID + ")"
		}
	}
	return out
}

func openArchive(name string) (*os.File, int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, 0, sdk.AttributeError("path", err)
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s is not a regular file", name)
	}
	if err != nil {
		_ = f.Close()
		return nil, 0, sdk.AttributeError("path", err)
	}
	return f, fi.Size(), nil
}

// loadMessage is one message of the daemon's JSON stream.
type loadMessage struct {
	Stream      string `json:"stream"`
	Status      string `json:"status"`
	ID          string `json:"id"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// loadError is a failure the daemon reported in the stream: the archive's
// fault (not a tar, a layer missing), which a retry repeats.
type loadError struct{ msg string }

func (e *loadError) Error() string { return e.msg }

// readLoadStream reads the daemon's answer to its end: the images it
// loaded ("Loaded image: app:1", "Loaded image ID: sha256:..."), other
// lines to the log, and the first error.
func readLoadStream(body io.Reader, r sdk.Reporter) ([]LoadedImage, error) {
	dec := json.NewDecoder(body)
	var loaded []LoadedImage
	lastStatus := map[string]string{}
	for {
		var m loadMessage
		err := dec.Decode(&m)
		switch {
		case errors.Is(err, io.EOF):
			return loaded, nil
		case err != nil:
			return nil, err
		case m.ErrorDetail != nil && m.ErrorDetail.Message != "":
			return nil, &loadError{msg: m.ErrorDetail.Message}
		case m.Error != "":
			return nil, &loadError{msg: m.Error}
		}
		for _, line := range strings.Split(m.Stream, "\n") {
			loaded = loadedLine(strings.TrimSpace(line), loaded, r)
		}
		if m.Status != "" && lastStatus[m.ID] != m.Status {
			lastStatus[m.ID] = m.Status
			r.Log(sdk.LevelDebug, strings.TrimSpace(m.ID+" "+m.Status))
		}
	}
}

func loadedLine(line string, loaded []LoadedImage, r sdk.Reporter) []LoadedImage {
	if id, ok := strings.CutPrefix(line, "Loaded image ID: "); ok {
		return append(loaded, LoadedImage{ID: strings.TrimSpace(id)})
	}
	if ref, ok := strings.CutPrefix(line, "Loaded image: "); ok {
		return append(loaded, LoadedImage{Reference: strings.TrimSpace(ref)})
	}
	if line != "" {
		r.Log(sdk.LevelInfo, line)
	}
	return loaded
}

// imageLoadCheck: applied when every image of the archive's manifest is
// known to the daemon under each of its tags, with the archive's ID.
// Otherwise it is loaded again, which is harmless. (On the containerd image
// store IDs are manifest digests, never equal to the archive's config
// digests: the load is then always repeated.)
func (d *docker) imageLoadCheck(ctx context.Context, in ImageLoadIn, _ time.Time) (sdk.CheckResult, ImageLoadOut, error) {
	c, err := d.client()
	if err != nil {
		return sdk.Unknown, ImageLoadOut{}, err
	}
	a, err := scanFile(ctx, in.Path)
	if err != nil {
		if ctx.Err() != nil {
			return sdk.Unknown, ImageLoadOut{}, err
		}
		return sdk.NotApplied, ImageLoadOut{}, nil
	}
	out := ImageLoadOut{Images: []LoadedImage{}, References: []string{}, IDs: []string{}}
	for _, e := range a.manifest {
		names := e.RepoTags
		if len(names) == 0 {
			names = []string{""}
		}
		for _, ref := range names {
			ins, err := c.ImageInspect(ctx, cmp.Or(ref, e.id()))
			switch {
			case isNotFound(err):
				return sdk.NotApplied, ImageLoadOut{}, nil
			case err != nil:
				return sdk.Unknown, ImageLoadOut{}, apiErr(c, quote("image", cmp.Or(ref, e.id())), err)
			case ins.ID != e.id():
				return sdk.NotApplied, ImageLoadOut{}, nil
			}
			out.add(LoadedImage{Reference: ref, ID: ins.ID})
		}
	}
	return sdk.Applied, out, nil
}
