package docker

import (
	"context"
	"fmt"
	"time"

	"github.com/moby/moby/api/types/image"
	"github.com/moby/moby/client"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Image is an image as image_list outputs it.
type Image struct {
	ID          string            `cty:"id"`
	RepoTags    []string          `cty:"repo_tags"`
	RepoDigests []string          `cty:"repo_digests"`
	Size        int64             `cty:"size" help:"Bytes."`
	Created     string            `cty:"created" help:"RFC 3339, UTC."`
	Labels      map[string]string `cty:"labels"`
}

// ImageFilters are image_list's filters; unset ones do not filter.
type ImageFilters struct {
	Reference []string `cty:"reference"`
	Label     []string `cty:"label"`
	Dangling  *bool    `cty:"dangling"`
}

// ImageListIn are image_list's inputs.
type ImageListIn struct {
	Filters *ImageFilters `cty:"filters" type:"object({reference=optional(list(string)), label=optional(list(string)), dangling=optional(bool)})" help:"reference: patterns such as \"app\" or \"registry/app:1.*\" (any may match); label: \"key\" or \"key=value\" (all must match); dangling: only untagged images (true) or only tagged ones (false)."`
	All     bool          `cty:"all" help:"Include intermediate images (docker images -a)."`
}

// ImageListOut are image_list's outputs.
type ImageListOut struct {
	Images     []Image  `cty:"images" help:"Newest first, as the daemon lists them."`
	References []string `cty:"references" help:"Every repo tag of those images, ready for image_save."`
	IDs        []string `cty:"ids"`
}

// ImageTagIn are image_tag's inputs.
type ImageTagIn struct {
	Source string `cty:"source" runbook:"required" help:"The image to tag: a reference or an ID."`
	Target string `cty:"target" runbook:"required" help:"The new reference, name[:tag] (tag latest when left out)."`
}

// ImageTagOut are image_tag's outputs.
type ImageTagOut struct {
	Source string `cty:"source"`
	Target string `cty:"target"`
	ID     string `cty:"id" help:"The image's ID, which both references now name."`
}

// ImageRemoveIn are image_remove's inputs.
type ImageRemoveIn struct {
	Image         string `cty:"image" runbook:"required" help:"A reference or an ID. A reference of an image with other tags only untags it."`
	Force         bool   `cty:"force" help:"Remove the image even if containers use it, and every tag of an ID."`
	PruneChildren *bool  `cty:"prune_children" help:"Also remove the untagged parent images (default true, as docker rmi)."`
	MissingOK     bool   `cty:"missing_ok" help:"Succeed when the image does not exist."`
}

// ImageRemoveOut are image_remove's outputs.
type ImageRemoveOut struct {
	Image    string   `cty:"image"`
	Deleted  []string `cty:"deleted" help:"IDs of the images and layers deleted."`
	Untagged []string `cty:"untagged" help:"References removed."`
}

func (d *docker) registerImages(p *sdk.Provider) {
	p.Action("image_list", sdk.Action[ImageListIn, ImageListOut]{
		Description: "List images (GET /images/json), as docker images does.",
		Idempotent:  true,
		Apply: func(ctx context.Context, in ImageListIn, _ sdk.Reporter) (ImageListOut, error) {
			return d.imageList(ctx, in)
		},
		Plan: func(ctx context.Context, in ImageListIn) (ImageListOut, []string, error) {
			return planRead(d.imageList(ctx, in))
		},
	})
	p.Action("image_tag", sdk.Action[ImageTagIn, ImageTagOut]{
		Description: "Tag an image (POST /images/{name}/tag); an existing tag moves to it.",
		Mutating:    true, Idempotent: true,
		Apply: d.imageTag,
		Plan: func(_ context.Context, in ImageTagIn) (ImageTagOut, []string, error) {
			return ImageTagOut{Source: in.Source, Target: in.Target}, []string{"source", "target"}, nil
		},
		Check: func(ctx context.Context, in ImageTagIn, _ time.Time) (sdk.CheckResult, ImageTagOut, error) {
			return d.imageTagCheck(ctx, in)
		},
	})
	p.Action("image_remove", sdk.Action[ImageRemoveIn, ImageRemoveOut]{
		Description: "Remove an image or untag it (DELETE /images/{name}), as docker rmi does.",
		Mutating:    true,
		Apply:       d.imageRemove,
		Plan: func(_ context.Context, in ImageRemoveIn) (ImageRemoveOut, []string, error) {
			return ImageRemoveOut{Image: in.Image}, []string{"image"}, nil
		},
		Check: d.imageRemoveCheck,
	})
}

func (d *docker) imageList(ctx context.Context, in ImageListIn) (ImageListOut, error) {
	c, err := d.client()
	if err != nil {
		return ImageListOut{}, err
	}
	opts := client.ImageListOptions{All: in.All, Filters: client.Filters{}}
	if f := in.Filters; f != nil {
		if len(f.Reference) > 0 {
			opts.Filters.Add("reference", f.Reference...)
		}
		if len(f.Label) > 0 {
			opts.Filters.Add("label", f.Label...)
		}
		if f.Dangling != nil {
			opts.Filters.Add("dangling", fmt.Sprint(*f.Dangling))
		}
	}
	res, err := c.ImageList(ctx, opts)
	if err != nil {
		return ImageListOut{}, apiErr(c, "listing images", err)
	}
	out := ImageListOut{Images: []Image{}, References: []string{}, IDs: []string{}}
	for _, s := range res.Items {
		img := imageOf(s)
		out.Images = append(out.Images, img)
		out.IDs = append(out.IDs, img.ID)
		out.References = append(out.References, img.RepoTags...)
	}
	return out, nil
}

func imageOf(s image.Summary) Image {
	return Image{
		ID: s.ID, RepoTags: realTags(s.RepoTags), RepoDigests: realTags(s.RepoDigests), Size: s.Size,
		Created: unixTime(s.Created), Labels: orEmptyMap(s.Labels),
	}
}

// realTags drops the placeholders old daemons list for untagged images.
func realTags(l []string) []string {
	out := []string{}
	for _, t := range l {
		if t != "<none>:<none>" && t != "<none>@<none>" {
			out = append(out, t)
		}
	}
	return out
}

func (d *docker) imageTag(ctx context.Context, in ImageTagIn, r sdk.Reporter) (ImageTagOut, error) {
	c, err := d.client()
	if err != nil {
		return ImageTagOut{}, err
	}
	if _, err := c.ImageTag(ctx, client.ImageTagOptions{Source: in.Source, Target: in.Target}); err != nil {
		return ImageTagOut{}, apiErr(c, fmt.Sprintf("tagging image %q as %q", in.Source, in.Target), err)
	}
	ins, err := c.ImageInspect(ctx, in.Target)
	if err != nil {
		return ImageTagOut{}, apiErr(c, quote("image", in.Target), err)
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("tagged %s as %s (%s)", in.Source, in.Target, ins.ID))
	return ImageTagOut{Source: in.Source, Target: in.Target, ID: ins.ID}, nil
}

// imageTagCheck: applied when target names the image source names.
func (d *docker) imageTagCheck(ctx context.Context, in ImageTagIn) (sdk.CheckResult, ImageTagOut, error) {
	c, err := d.client()
	if err != nil {
		return sdk.Unknown, ImageTagOut{}, err
	}
	src, err := c.ImageInspect(ctx, in.Source)
	if err != nil {
		return sdk.Unknown, ImageTagOut{}, apiErr(c, quote("image", in.Source), err)
	}
	dst, err := c.ImageInspect(ctx, in.Target)
	switch {
	case isNotFound(err):
		return sdk.NotApplied, ImageTagOut{}, nil
	case err != nil:
		return sdk.Unknown, ImageTagOut{}, apiErr(c, quote("image", in.Target), err)
	case dst.ID != src.ID:
		return sdk.NotApplied, ImageTagOut{}, nil
	}
	return sdk.Applied, ImageTagOut{Source: in.Source, Target: in.Target, ID: dst.ID}, nil
}

func (d *docker) imageRemove(ctx context.Context, in ImageRemoveIn, r sdk.Reporter) (ImageRemoveOut, error) {
	c, err := d.client()
	if err != nil {
		return ImageRemoveOut{}, err
	}
	prune := in.PruneChildren == nil || *in.PruneChildren
	res, err := c.ImageRemove(ctx, in.Image, client.ImageRemoveOptions{Force: in.Force, PruneChildren: prune})
	out := ImageRemoveOut{Image: in.Image, Deleted: []string{}, Untagged: []string{}}
	switch {
	case isNotFound(err) && in.MissingOK:
		r.Log(sdk.LevelInfo, "image "+in.Image+" does not exist: nothing to remove")
		return out, nil
	case err != nil:
		return ImageRemoveOut{}, apiErr(c, quote("image", in.Image), err)
	}
	for _, it := range res.Items {
		if it.Deleted != "" {
			out.Deleted = append(out.Deleted, it.Deleted)
		}
		if it.Untagged != "" {
			out.Untagged = append(out.Untagged, it.Untagged)
		}
	}
	r.Log(sdk.LevelInfo, fmt.Sprintf("removed image %s: %d untagged, %d deleted", in.Image, len(out.Untagged), len(out.Deleted)))
	return out, nil
}

// imageRemoveCheck: applied when the daemon no longer knows the image by
// that name. What was deleted then is not known any more: the lists are
// empty.
func (d *docker) imageRemoveCheck(ctx context.Context, in ImageRemoveIn, _ time.Time) (sdk.CheckResult, ImageRemoveOut, error) {
	c, err := d.client()
	if err != nil {
		return sdk.Unknown, ImageRemoveOut{}, err
	}
	_, err = c.ImageInspect(ctx, in.Image)
	switch {
	case isNotFound(err):
		return sdk.Applied, ImageRemoveOut{Image: in.Image, Deleted: []string{}, Untagged: []string{}}, nil
	case err != nil:
		return sdk.Unknown, ImageRemoveOut{}, apiErr(c, quote("image", in.Image), err)
	}
	return sdk.NotApplied, ImageRemoveOut{}, nil
}
