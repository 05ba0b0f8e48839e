package openstack

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// A minimal Glance v2 (images list and show) so that clients can turn an
// image name into the id Nova wants, and a minimal Placement (resource
// providers, inventories, usages) for capacity at Nova microversions >= 2.88
// where os-hypervisors no longer reports it.

func (c *call) glance() *response {
	segs := segments(strings.TrimPrefix(c.r.URL.Path, imagePrefix))
	if len(segs) == 0 {
		var vs []any
		for _, v := range []string{"v2.16", "v2.15", "v2.9", "v2.7", "v2.6", "v2.5", "v2.4", "v2.3", "v2.2", "v2.1", "v2.0"} {
			status := "SUPPORTED"
			if v == "v2.16" {
				status = "CURRENT"
			}
			vs = append(vs, map[string]any{"id": v, "status": status, "links": []any{map[string]any{"rel": "self", "href": c.base + imagePrefix + "/v2/"}}})
		}
		return jsonResp(http.StatusMultipleChoices, map[string]any{"versions": vs})
	}
	if r := c.authenticate(); r != nil {
		return r
	}
	if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead {
		return webobError(http.StatusMethodNotAllowed, "The method is not allowed for this resource.")
	}
	switch {
	case len(segs) == 2 && segs[0] == "v2" && segs[1] == "images":
		return c.listImages()
	case len(segs) == 3 && segs[0] == "v2" && segs[1] == "images":
		im := c.st.image(segs[2])
		if im == nil || !c.seesImage(im) {
			return webobError(http.StatusNotFound, fmt.Sprintf("No image found with ID %s", segs[2]))
		}
		return jsonResp(http.StatusOK, c.imageJSON(im))
	}
	return webobError(http.StatusNotFound, "The resource could not be found.")
}

func (c *call) seesImage(im *image) bool {
	return im.visibility == "public" || c.seesProject(im.owner)
}

func (c *call) imageJSON(im *image) map[string]any {
	return map[string]any{
		"id": im.id, "name": im.name, "status": im.status, "visibility": im.visibility, "size": im.size,
		"virtual_size": nil, "min_disk": im.minDisk, "min_ram": im.minRAM, "disk_format": im.diskFormat,
		"container_format": im.containerFormat, "checksum": nil, "os_hash_algo": nil, "os_hash_value": nil,
		"owner": im.owner, "protected": false, "os_hidden": false, "tags": []any{},
		"created_at": isoTime(im.created), "updated_at": isoTime(im.created),
		"self": "/v2/images/" + im.id, "file": "/v2/images/" + im.id + "/file", "schema": "/v2/schemas/image",
	}
}

func (c *call) listImages() *response {
	var sel []*image
	for _, im := range c.st.images {
		if !c.seesImage(im) {
			continue
		}
		if n := c.query.Get("name"); n != "" && im.name != n {
			continue
		}
		if s := c.query.Get("status"); s != "" && im.status != s {
			continue
		}
		if v := c.query.Get("visibility"); v != "" && im.visibility != v {
			continue
		}
		if id := c.query.Get("id"); id != "" && im.id != id {
			continue
		}
		sel = append(sel, im)
	}
	lo := 0
	if m := c.query.Get("marker"); m != "" {
		found := false
		for i, im := range sel {
			if im.id == m {
				lo, found = i+1, true
			}
		}
		if !found {
			return webobError(http.StatusBadRequest, "marker not found")
		}
	}
	hi := len(sel)
	next := false
	if l, err := strconv.Atoi(c.query.Get("limit")); err == nil && l > 0 && lo+l < hi {
		hi, next = lo+l, true
	}
	out := []any{}
	for _, im := range sel[lo:hi] {
		out = append(out, c.imageJSON(im))
	}
	body := map[string]any{"images": out, "first": "/v2/images", "schema": "/v2/schemas/images"}
	if next {
		q := url.Values{}
		for k, vs := range c.query {
			q[k] = vs
		}
		q.Set("marker", sel[hi-1].id)
		body["next"] = "/v2/images?" + q.Encode()
	}
	return jsonResp(http.StatusOK, body)
}

// placement -----------------------------------------------------------------

func placementError(status int, detail string) *response {
	return jsonResp(status, map[string]any{"errors": []any{map[string]any{
		"status": status, "title": http.StatusText(status), "detail": detail, "code": "placement.undefined_code",
	}}})
}

func (c *call) placement() *response {
	segs := segments(strings.TrimPrefix(c.r.URL.Path, placementPrefix))
	if len(segs) == 0 {
		return jsonResp(http.StatusOK, map[string]any{"versions": []any{map[string]any{
			"id": "v1.0", "max_version": "1.39", "min_version": "1.0", "status": "CURRENT",
			"links": []any{map[string]any{"rel": "self", "href": ""}},
		}}})
	}
	if r := c.authenticate(); r != nil {
		return r
	}
	if !c.tok.isAdmin() {
		return placementError(http.StatusForbidden, "Policy does not allow placement:resource_providers:list to be performed.")
	}
	if c.r.Method != http.MethodGet && c.r.Method != http.MethodHead {
		return placementError(http.StatusMethodNotAllowed, "The method specified is not allowed for this resource.")
	}
	if segs[0] != "resource_providers" {
		return placementError(http.StatusNotFound, "The resource could not be found.")
	}
	if len(segs) == 1 {
		out := []any{}
		for _, h := range c.st.hosts {
			if n := c.query.Get("name"); n != "" && h.hypervisorHostname != n {
				continue
			}
			if u := c.query.Get("uuid"); u != "" && h.hypUUID != u {
				continue
			}
			out = append(out, c.providerJSON(h))
		}
		return jsonResp(http.StatusOK, map[string]any{"resource_providers": out})
	}
	var h *host
	for _, x := range c.st.hosts {
		if x.hypUUID == segs[1] {
			h = x
		}
	}
	if h == nil {
		return placementError(http.StatusNotFound, fmt.Sprintf("No resource provider with uuid %s found", segs[1]))
	}
	gen := c.generation(h)
	switch {
	case len(segs) == 2:
		return jsonResp(http.StatusOK, c.providerJSON(h))
	case len(segs) == 3 && segs[2] == "inventories":
		inv := func(total, reserved int, ratio float64) map[string]any {
			return map[string]any{"total": total, "reserved": reserved, "min_unit": 1, "max_unit": total, "step_size": 1, "allocation_ratio": ratio}
		}
		return jsonResp(http.StatusOK, map[string]any{
			"inventories": map[string]any{
				"VCPU":      inv(h.vcpus, h.reservedCPUs, h.cpuRatio),
				"MEMORY_MB": inv(h.memoryMB, h.reservedMB, h.ramRatio),
				"DISK_GB":   inv(h.localGB, 0, h.diskRatio),
			},
			"resource_provider_generation": gen,
		})
	case len(segs) == 3 && segs[2] == "usages":
		u := c.st.usage(h)
		return jsonResp(http.StatusOK, map[string]any{
			"usages":                       map[string]any{"VCPU": u.vcpus, "MEMORY_MB": u.ramMB, "DISK_GB": u.diskGB},
			"resource_provider_generation": gen,
		})
	}
	return placementError(http.StatusNotFound, "The resource could not be found.")
}

func (c *call) generation(h *host) int { return 1 + c.st.usage(h).servers }

func (c *call) providerJSON(h *host) map[string]any {
	self := placementPrefix + "/resource_providers/" + h.hypUUID
	return map[string]any{
		"uuid": h.hypUUID, "name": h.hypervisorHostname, "generation": c.generation(h),
		"parent_provider_uuid": nil, "root_provider_uuid": h.hypUUID,
		"links": []any{
			map[string]any{"rel": "self", "href": self},
			map[string]any{"rel": "inventories", "href": self + "/inventories"},
			map[string]any{"rel": "usages", "href": self + "/usages"},
		},
	}
}
