package client

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// List is a list answer: {"items": [...], "metadata": {"pagination": {...}}}.
type List[T any] struct {
	Items    []T          `json:"items"`
	Metadata ListMetadata `json:"metadata"`
}

// ListMetadata is a list answer's metadata.
type ListMetadata struct {
	Pagination Pagination `json:"pagination"`
}

// Pagination says which slice of the matches a page holds. Old managers send
// "offset": null; it reads as 0.
type Pagination struct {
	Total  int `json:"total"`
	Size   int `json:"size"`
	Offset int `json:"offset"`
}

// ListOptions are the query parameters every list endpoint takes.
type ListOptions struct {
	// Filters are equality filters on model fields; a repeated key matches
	// any of its values (e.g. status=created&status=uploaded).
	Filters url.Values
	// Include selects the returned fields (_include).
	Include []string
	// Sort is a field name, "-field" for descending (_sort).
	Sort string
	// Search is a substring search on the id (_search).
	Search string
	// Size and Offset select one page (_size, _offset); 0 leaves the
	// server's defaults.
	Size   int
	Offset int
	// AllTenants lists across tenants (_all_tenants=true).
	AllTenants bool
	// All follows the pagination metadata from Offset on and returns every
	// match in one List (Size, when set, is the page size used).
	All bool
}

func (o *ListOptions) query() url.Values {
	q := url.Values{}
	if o == nil {
		return q
	}
	for k, vs := range o.Filters {
		q[k] = append([]string(nil), vs...)
	}
	if len(o.Include) > 0 {
		q.Set("_include", strings.Join(o.Include, ","))
	}
	if o.Sort != "" {
		q.Set("_sort", o.Sort)
	}
	if o.Search != "" {
		q.Set("_search", o.Search)
	}
	if o.Size > 0 {
		q.Set("_size", strconv.Itoa(o.Size))
	}
	if o.Offset > 0 {
		q.Set("_offset", strconv.Itoa(o.Offset))
	}
	if o.AllTenants {
		q.Set("_all_tenants", "true")
	}
	return q
}

// maxPages bounds All against a server whose metadata never lets it end.
const maxPages = 10000

// list fetches one page, or every page when opts.All, as
// cloudify_rest_client/utils.py get_all does: ask from the offset reached
// until the items seen cover pagination.total.
func list[T any](ctx context.Context, c *Client, path string, opts *ListOptions, extra url.Values, header http.Header) (*List[T], error) {
	q := opts.query()
	for k, vs := range extra {
		q[k] = vs
	}
	all := opts != nil && opts.All
	if !all {
		var page List[T]
		if err := c.doJSON(ctx, &request{method: "GET", path: path, query: q, header: header}, &page); err != nil {
			return nil, err
		}
		return &page, nil
	}
	start := 0
	if opts.Offset > 0 {
		start = opts.Offset
	}
	out := &List[T]{Items: []T{}}
	offset := start
	for range maxPages {
		q.Set("_offset", strconv.Itoa(offset))
		var page List[T]
		if err := c.doJSON(ctx, &request{method: "GET", path: path, query: q, header: header}, &page); err != nil {
			return nil, err
		}
		out.Items = append(out.Items, page.Items...)
		out.Metadata.Pagination.Total = page.Metadata.Pagination.Total
		offset += len(page.Items)
		if len(page.Items) == 0 || offset >= page.Metadata.Pagination.Total {
			break
		}
	}
	out.Metadata.Pagination.Offset = start
	out.Metadata.Pagination.Size = len(out.Items)
	return out, nil
}
