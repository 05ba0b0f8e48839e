package openstack

import (
	"context"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/hypervisors"

	"github.com/runbook-dev/runbook/plugins/sdk"
)

// Inputs and outputs of hypervisor_list.
type (
	HypervisorListIn struct {
		Host string `cty:"host" help:"Only the hypervisor of this compute host (service host or hypervisor hostname)."`
	}
	HypervisorOut struct {
		ID           string `cty:"id"`
		Name         string `cty:"name" help:"The hypervisor hostname."`
		Host         string `cty:"host" help:"The compute service's host, the name evacuation targets use."`
		State        string `cty:"state" help:"up or down."`
		Status       string `cty:"status" help:"enabled or disabled."`
		Type         string `cty:"type"`
		HostIP       string `cty:"host_ip"`
		VCPUs        int    `cty:"vcpus"`
		VCPUsUsed    int    `cty:"vcpus_used"`
		MemoryMB     int    `cty:"memory_mb"`
		MemoryMBUsed int    `cty:"memory_mb_used"`
		FreeRAMMB    int    `cty:"free_ram_mb"`
		RunningVMs   int    `cty:"running_vms"`
	}
	HypervisorListOut struct {
		Hypervisors  []HypervisorOut `cty:"hypervisors"`
		Count        int             `cty:"count"`
		VCPUs        int             `cty:"vcpus" help:"Sum over the hypervisors listed."`
		VCPUsUsed    int             `cty:"vcpus_used"`
		MemoryMB     int             `cty:"memory_mb"`
		MemoryMBUsed int             `cty:"memory_mb_used"`
		RunningVMs   int             `cty:"running_vms"`
	}
)

func hypervisorOut(h *hypervisors.Hypervisor) HypervisorOut {
	return HypervisorOut{
		ID: h.ID, Name: h.HypervisorHostname, Host: h.Service.Host, State: h.State, Status: h.Status,
		Type: h.HypervisorType, HostIP: h.HostIP,
		VCPUs: h.VCPUs, VCPUsUsed: h.VCPUsUsed, MemoryMB: h.MemoryMB, MemoryMBUsed: h.MemoryMBUsed,
		FreeRAMMB: h.FreeRamMB, RunningVMs: h.RunningVMs,
	}
}

func (c *cloud) registerHypervisors(p *sdk.Provider) {
	p.Action("hypervisor_list", sdk.Action[HypervisorListIn, HypervisorListOut]{
		Description: "Lists hypervisors with vCPUs and memory used and total and running VMs (asked at microversion 2.87 at most, the last with usage).",
		Idempotent:  true,
		Apply: func(ctx context.Context, in HypervisorListIn, _ sdk.Reporter) (HypervisorListOut, error) {
			return c.hypervisorList(ctx, in)
		},
		Plan: func(ctx context.Context, in HypervisorListIn) (HypervisorListOut, []string, error) {
			out, err := c.hypervisorList(ctx, in)
			return out, sdk.AllOutputs(out), err
		},
	})
}

func (c *cloud) hypervisorList(ctx context.Context, in HypervisorListIn) (HypervisorListOut, error) {
	s, err := c.session(ctx)
	if err != nil {
		return HypervisorListOut{}, err
	}
	all, err := s.listHypervisors(ctx)
	if err != nil {
		return HypervisorListOut{}, err
	}
	out := HypervisorListOut{Hypervisors: []HypervisorOut{}}
	for i := range all {
		h := hypervisorOut(&all[i])
		if in.Host != "" && !sameHost(in.Host, h.Host) && !sameHost(in.Host, h.Name) {
			continue
		}
		out.Hypervisors = append(out.Hypervisors, h)
		out.VCPUs += h.VCPUs
		out.VCPUsUsed += h.VCPUsUsed
		out.MemoryMB += h.MemoryMB
		out.MemoryMBUsed += h.MemoryMBUsed
		out.RunningVMs += h.RunningVMs
	}
	out.Count = len(out.Hypervisors)
	return out, nil
}

// listHypervisors reads every hypervisor with its usage: the call is made
// at microversion 2.87 at most, because 2.88 drops vcpus_used,
// memory_mb_used, running_vms and the rest (reference/apis.md 2.1).
func (s *session) listHypervisors(ctx context.Context) ([]hypervisors.Hypervisor, error) {
	pages, err := hypervisors.List(s.nova(mvHypervisors), nil).AllPages(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	return hypervisors.ExtractHypervisors(pages)
}

// sameHost compares host names, also by their short form: a segment may
// name compute-1 where Nova says compute-1.example.org.
func sameHost(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	if strings.EqualFold(a, b) {
		return true
	}
	short := func(s string) string {
		if i := strings.IndexByte(s, '.'); i > 0 {
			return s[:i]
		}
		return s
	}
	return strings.EqualFold(short(a), short(b)) && (!strings.Contains(a, ".") || !strings.Contains(b, "."))
}
