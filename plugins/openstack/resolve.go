package openstack

import (
	"context"
	"fmt"
	"net"
	"strings"

	"github.com/gophercloud/gophercloud/v2/openstack/compute/v2/flavors"
	"github.com/gophercloud/gophercloud/v2/openstack/image/v2/images"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/extensions/layer3/floatingips"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/networks"
	"github.com/gophercloud/gophercloud/v2/openstack/networking/v2/ports"
)

// Lookups by id or name. An id (a UUID) is used as given where the API
// that takes it checks it anyway (images, networks); names are looked up
// and must match exactly one resource.

func ambiguous(what, ref string, ids []string) error {
	return fmt.Errorf("%d %ss are named %q (%s): give the id", len(ids), what, ref, strings.Join(ids, ", "))
}

// resolveImage finds an image id by name through Glance.
func (s *session) resolveImage(ctx context.Context, attr, ref string) (string, error) {
	if looksLikeID(ref) {
		return ref, nil
	}
	if s.image == nil {
		return "", attrErr(attr, fmt.Errorf("image %q: the catalog has no image service to look names up in; give the image id", ref))
	}
	pages, err := images.List(s.image, images.ListOpts{Name: ref}).AllPages(ctx)
	if err != nil {
		return "", apiError(err)
	}
	all, err := images.ExtractImages(pages)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, img := range all {
		if img.Name == ref {
			ids = append(ids, img.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", notFoundError(attr, "image", ref)
	case 1:
		return ids[0], nil
	}
	return "", attrErr(attr, ambiguous("image", ref, ids))
}

// resolveFlavor finds a flavor by id or name among every flavor the
// project may use (public and private).
func (s *session) resolveFlavor(ctx context.Context, attr, ref string) (string, error) {
	all, err := s.listFlavors(ctx)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, f := range all {
		if f.ID == ref {
			return f.ID, nil
		}
		if f.Name == ref {
			ids = append(ids, f.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", notFoundError(attr, "flavor", ref)
	case 1:
		return ids[0], nil
	}
	return "", attrErr(attr, ambiguous("flavor", ref, ids))
}

func (s *session) listFlavors(ctx context.Context) ([]flavors.Flavor, error) {
	pages, err := flavors.ListDetail(s.nova(mvDefault), flavors.ListOpts{AccessType: flavors.AllAccess}).AllPages(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	return flavors.ExtractFlavors(pages)
}

// resolveNetwork finds a network id by name.
func (s *session) resolveNetwork(ctx context.Context, ref string) (string, error) {
	if looksLikeID(ref) {
		return ref, nil
	}
	pages, err := networks.List(s.network, networks.ListOpts{Name: ref}).AllPages(ctx)
	if err != nil {
		return "", apiError(err)
	}
	all, err := networks.ExtractNetworks(pages)
	if err != nil {
		return "", err
	}
	var ids []string
	for _, n := range all {
		if n.Name == ref {
			ids = append(ids, n.ID)
		}
	}
	switch len(ids) {
	case 0:
		return "", &notFoundErr{"network", ref}
	case 1:
		return ids[0], nil
	}
	return "", ambiguous("network", ref, ids)
}

// findPort reads a port by id or name.
func (s *session) findPort(ctx context.Context, ref string) (*ports.Port, error) {
	if looksLikeID(ref) {
		p, err := ports.Get(ctx, s.network, ref).Extract()
		if err == nil {
			return p, nil
		}
		if !isNotFound(err) {
			return nil, apiError(err)
		}
	}
	pages, err := ports.List(s.network, ports.ListOpts{Name: ref}).AllPages(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	all, err := ports.ExtractPorts(pages)
	if err != nil {
		return nil, err
	}
	var found []ports.Port
	for _, p := range all {
		if p.Name == ref {
			found = append(found, p)
		}
	}
	switch len(found) {
	case 0:
		return nil, &notFoundErr{"port", ref}
	case 1:
		return &found[0], nil
	}
	ids := make([]string, len(found))
	for i, p := range found {
		ids[i] = p.ID
	}
	return nil, ambiguous("port", ref, ids)
}

// findFloatingIP reads a floating IP by address or id.
func (s *session) findFloatingIP(ctx context.Context, ref string) (*floatingips.FloatingIP, error) {
	if net.ParseIP(ref) == nil {
		fip, err := floatingips.Get(ctx, s.network, ref).Extract()
		if isNotFound(err) {
			return nil, &notFoundErr{"floating IP", ref}
		}
		if err != nil {
			return nil, apiError(err)
		}
		return fip, nil
	}
	pages, err := floatingips.List(s.network, floatingips.ListOpts{FloatingIP: ref}).AllPages(ctx)
	if err != nil {
		return nil, apiError(err)
	}
	all, err := floatingips.ExtractFloatingIPs(pages)
	if err != nil {
		return nil, err
	}
	for _, f := range all {
		if f.FloatingIP == ref {
			return &f, nil
		}
	}
	return nil, &notFoundErr{"floating IP", ref}
}
