package docker

import (
	"context"

	"github.com/moby/moby/client"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Volume is a volume as volume_list outputs it.
type Volume struct {
	Name       string            `cty:"name"`
	Driver     string            `cty:"driver"`
	Mountpoint string            `cty:"mountpoint" help:"Where the data is on the daemon's host."`
	Labels     map[string]string `cty:"labels"`
	CreatedAt  string            `cty:"created_at" help:"RFC 3339."`
	Scope      string            `cty:"scope" help:"local or global."`
}

// VolumeListIn are volume_list's inputs.
type VolumeListIn struct {
	Filters map[string][]string `cty:"filters" help:"The daemon's filters, each a list of values: name, label (\"key\" or \"key=value\"), driver, dangling."`
}

// VolumeListOut are volume_list's outputs.
type VolumeListOut struct {
	Volumes []Volume `cty:"volumes"`
	Names   []string `cty:"names"`
}

func (d *docker) registerVolumes(p *sdk.Provider) {
	p.Action("volume_list", sdk.Action[VolumeListIn, VolumeListOut]{
		Description: "List volumes (GET /volumes), as docker volume ls does.",
		Idempotent:  true,
		Apply: func(ctx context.Context, in VolumeListIn, r sdk.Reporter) (VolumeListOut, error) {
			out, warnings, err := d.volumeList(ctx, in)
			for _, w := range warnings {
				r.Log(sdk.LevelWarn, w)
			}
			return out, err
		},
		Plan: func(ctx context.Context, in VolumeListIn) (VolumeListOut, []string, error) {
			out, _, err := d.volumeList(ctx, in)
			return planRead(out, err)
		},
	})
}

func (d *docker) volumeList(ctx context.Context, in VolumeListIn) (VolumeListOut, []string, error) {
	c, err := d.client()
	if err != nil {
		return VolumeListOut{}, nil, err
	}
	res, err := c.VolumeList(ctx, client.VolumeListOptions{Filters: filtersOf(in.Filters)})
	if err != nil {
		return VolumeListOut{}, nil, apiErr(c, "listing volumes", err)
	}
	out := VolumeListOut{Volumes: []Volume{}, Names: []string{}}
	for _, v := range res.Items {
		out.Volumes = append(out.Volumes, Volume{Name: v.Name, Driver: v.Driver, Mountpoint: v.Mountpoint,
			Labels: orEmptyMap(v.Labels), CreatedAt: v.CreatedAt, Scope: v.Scope})
		out.Names = append(out.Names, v.Name)
	}
	return out, res.Warnings, nil
}
