package openstack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Nova's API version negotiation (nova/api/openstack/api_version_request.py
// and wsgi.py): OpenStack-API-Version: compute X.Y wins over
// X-OpenStack-Nova-API-Version; none means 2.1; "latest" means the maximum;
// a version outside [2.1, max] is a 406 computeFault.

type microversion struct{ major, minor int }

var (
	minMicroversion        = microversion{2, 1}
	defaultMaxMicroversion = microversion{2, 95}
	// highestMicroversion is the newest the simulator knows the response
	// shapes of.
	highestMicroversion = microversion{2, 95}
)

var mvPattern = regexp.MustCompile(`^([1-9]\d*)\.([1-9]\d*|0)$`)

func parseMicroversion(s string) (microversion, error) {
	m := mvPattern.FindStringSubmatch(s)
	if m == nil {
		return microversion{}, fmt.Errorf("bad version %q", s)
	}
	maj, _ := strconv.Atoi(m[1])
	mn, _ := strconv.Atoi(m[2])
	return microversion{maj, mn}, nil
}

func (v microversion) less(o microversion) bool {
	return v.major < o.major || v.major == o.major && v.minor < o.minor
}

// at reports whether v >= 2.minor.
func (v microversion) at(minor int) bool { return !v.less(microversion{2, minor}) }

func (v microversion) String() string { return fmt.Sprintf("%d.%d", v.major, v.minor) }

// requestedMicroversion reads the version headers like microversion_parse.
func requestedMicroversion(h http.Header) string {
	for _, line := range h.Values("OpenStack-API-Version") {
		for _, part := range strings.Split(line, ",") {
			fields := strings.Fields(part)
			if len(fields) == 2 && strings.EqualFold(fields[0], "compute") {
				return fields[1]
			}
		}
	}
	return strings.TrimSpace(h.Get("X-OpenStack-Nova-API-Version"))
}

func (c *call) negotiate() *response {
	req := requestedMicroversion(c.r.Header)
	switch {
	case req == "":
		c.mv = minMicroversion
	case strings.EqualFold(req, "latest"):
		c.mv = c.st.maxMV
	default:
		v, err := parseMicroversion(req)
		if err != nil {
			return novaError(http.StatusBadRequest, "API Version String %s is of invalid format. Must be of format MajorNum.MinorNum.", req)
		}
		if v.less(minMicroversion) || c.st.maxMV.less(v) {
			return novaError(http.StatusNotAcceptable, "Version %s is not supported by the API. Minimum is %s and maximum is %s.", req, minMicroversion, c.st.maxMV)
		}
		c.mv = v
	}
	return nil
}

func (c *call) versionHeaders(r *response) *response {
	if c.mv == (microversion{}) {
		return r
	}
	r.with("OpenStack-API-Version", "compute "+c.mv.String())
	r.with("X-OpenStack-Nova-API-Version", c.mv.String())
	r.with("Vary", "OpenStack-API-Version, X-OpenStack-Nova-API-Version")
	r.with("X-Compute-Request-Id", c.reqID)
	return r
}

func (c *call) novaV21Version() map[string]any {
	return map[string]any{
		"id": "v2.1", "status": "CURRENT", "version": c.st.maxMV.String(), "min_version": minMicroversion.String(),
		"updated": "2013-07-23T11:33:21Z",
		"links": []any{
			map[string]any{"rel": "self", "href": c.base + computePrefix + "/v2.1/"},
			map[string]any{"rel": "describedby", "type": "text/html", "href": "http://docs.openstack.org/"},
		},
		"media-types": []any{map[string]any{"base": "application/json", "type": "application/vnd.openstack.compute+json;version=2.1"}},
	}
}

func novaNotFound() *response {
	return novaError(http.StatusNotFound, "The resource could not be found.")
}

func novaBadMethod() *response {
	return novaError(http.StatusMethodNotAllowed, "The method specified is not allowed for this resource.")
}

// policy checks an admin-only rule.
func (c *call) policy(rule string) *response {
	if c.tok.isAdmin() {
		return nil
	}
	return novaError(http.StatusForbidden, "Policy doesn't allow %s to be performed.", rule)
}

// nova routes a request under /compute.
func (c *call) nova() *response {
	segs := segments(strings.TrimPrefix(c.r.URL.Path, computePrefix))
	method := c.r.Method
	if method == http.MethodHead {
		method = http.MethodGet
	}
	if len(segs) == 0 {
		if method != http.MethodGet {
			return novaBadMethod()
		}
		v2 := map[string]any{
			"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": "", "updated": "2011-01-21T11:33:21Z",
			"links": []any{map[string]any{"rel": "self", "href": c.base + computePrefix + "/v2/"}},
		}
		v21 := c.novaV21Version()
		delete(v21, "media-types")
		v21["links"] = []any{map[string]any{"rel": "self", "href": c.base + computePrefix + "/v2.1/"}}
		return jsonResp(http.StatusOK, map[string]any{"versions": []any{v2, v21}})
	}
	if segs[0] != "v2.1" {
		return novaNotFound()
	}
	segs = segs[1:]
	if len(segs) == 0 {
		if method != http.MethodGet {
			return novaBadMethod()
		}
		return jsonResp(http.StatusOK, map[string]any{"version": c.novaV21Version()})
	}
	if r := c.authenticate(); r != nil {
		return r
	}
	if r := c.negotiate(); r != nil {
		return r
	}
	return c.versionHeaders(c.novaRoute(method, segs))
}

func (c *call) novaRoute(method string, segs []string) *response {
	type route struct {
		pattern []string
		methods map[string]func() *response
	}
	routes := []route{
		{[]string{"servers"}, map[string]func() *response{http.MethodGet: func() *response { return c.listServers(false) }, http.MethodPost: c.createServer}},
		{[]string{"servers", "detail"}, map[string]func() *response{http.MethodGet: func() *response { return c.listServers(true) }}},
		{[]string{"servers", "*"}, map[string]func() *response{http.MethodGet: c.showServer, http.MethodDelete: c.deleteServer, http.MethodPut: c.updateServer}},
		{[]string{"servers", "*", "action"}, map[string]func() *response{http.MethodPost: c.serverAction}},
		{[]string{"servers", "*", "os-interface"}, map[string]func() *response{http.MethodGet: c.listInterfaces, http.MethodPost: c.attachInterface}},
		{[]string{"servers", "*", "os-interface", "*"}, map[string]func() *response{http.MethodGet: c.showInterface, http.MethodDelete: c.detachInterface}},
		{[]string{"servers", "*", "os-instance-actions"}, map[string]func() *response{http.MethodGet: c.listInstanceActions}},
		{[]string{"servers", "*", "os-instance-actions", "*"}, map[string]func() *response{http.MethodGet: c.showInstanceAction}},
		{[]string{"os-services"}, map[string]func() *response{http.MethodGet: c.listServices}},
		{[]string{"os-services", "*"}, map[string]func() *response{http.MethodPut: c.updateService}},
		{[]string{"os-hypervisors"}, map[string]func() *response{http.MethodGet: func() *response { return c.listHypervisors(false) }}},
		{[]string{"os-hypervisors", "detail"}, map[string]func() *response{http.MethodGet: func() *response { return c.listHypervisors(true) }}},
		{[]string{"os-hypervisors", "statistics"}, map[string]func() *response{http.MethodGet: c.hypervisorStatistics}},
		{[]string{"os-hypervisors", "*"}, map[string]func() *response{http.MethodGet: c.showHypervisor}},
		{[]string{"os-hypervisors", "*", "uptime"}, map[string]func() *response{http.MethodGet: c.hypervisorUptime}},
		{[]string{"os-hypervisors", "*", "search"}, map[string]func() *response{http.MethodGet: func() *response { return c.searchHypervisors(false) }}},
		{[]string{"os-hypervisors", "*", "servers"}, map[string]func() *response{http.MethodGet: func() *response { return c.searchHypervisors(true) }}},
		{[]string{"os-migrations"}, map[string]func() *response{http.MethodGet: c.listMigrations}},
		{[]string{"flavors"}, map[string]func() *response{http.MethodGet: func() *response { return c.listFlavors(false) }}},
		{[]string{"flavors", "detail"}, map[string]func() *response{http.MethodGet: func() *response { return c.listFlavors(true) }}},
		{[]string{"flavors", "*"}, map[string]func() *response{http.MethodGet: c.showFlavor}},
		{[]string{"images"}, map[string]func() *response{http.MethodGet: func() *response { return c.listNovaImages(false) }}},
		{[]string{"images", "detail"}, map[string]func() *response{http.MethodGet: func() *response { return c.listNovaImages(true) }}},
		{[]string{"images", "*"}, map[string]func() *response{http.MethodGet: c.showNovaImage}},
		{[]string{"os-availability-zone"}, map[string]func() *response{http.MethodGet: func() *response { return c.availabilityZones(false) }}},
		{[]string{"os-availability-zone", "detail"}, map[string]func() *response{http.MethodGet: func() *response { return c.availabilityZones(true) }}},
	}
	for _, rt := range routes {
		args, ok := match(segs, rt.pattern...)
		if !ok {
			continue
		}
		h, ok := rt.methods[method]
		if !ok {
			return novaBadMethod()
		}
		c.args = args
		return h()
	}
	return novaNotFound()
}

// Request validation in Nova's words (nova/api/validation/validators.py):
// "Invalid input for field/attribute <path>. Value: <repr>. <jsonschema
// message>", or the bare jsonschema message at the top level.

func schemaError(field string, value any, format string, args ...any) *response {
	msg := fmt.Sprintf(format, args...)
	if field == "" {
		return novaError(http.StatusBadRequest, "%s", msg)
	}
	return novaError(http.StatusBadRequest, "Invalid input for field/attribute %s. Value: %s. %s", field, pyRepr(value), msg)
}

func malformed() *response { return novaError(http.StatusBadRequest, "Malformed request body") }

// pyRepr renders a JSON value the way Python prints it.
func pyRepr(v any) string {
	switch x := v.(type) {
	case nil:
		return "None"
	case bool:
		if x {
			return "True"
		}
		return "False"
	case string:
		return "'" + strings.ReplaceAll(x, "'", `\'`) + "'"
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = pyRepr(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		parts := make([]string, len(keys))
		for i, k := range keys {
			parts[i] = pyRepr(k) + ": " + pyRepr(x[k])
		}
		return "{" + strings.Join(parts, ", ") + "}"
	}
	return fmt.Sprint(v)
}

// checkProperties is additionalProperties: false and required.
func checkProperties(field string, obj map[string]any, allowed []string, required ...string) *response {
	for _, r := range required {
		if _, ok := obj[r]; !ok {
			return schemaError(field, obj, "'%s' is a required property", r)
		}
	}
	var extra []string
	for k := range obj {
		found := false
		for _, a := range allowed {
			if k == a {
				found = true
				break
			}
		}
		if !found {
			extra = append(extra, k)
		}
	}
	if len(extra) > 0 {
		sort.Strings(extra)
		quoted := make([]string, len(extra))
		for i, e := range extra {
			quoted[i] = "'" + e + "'"
		}
		verb := "was"
		if len(extra) > 1 {
			verb = "were"
		}
		return schemaError(field, obj, "Additional properties are not allowed (%s %s unexpected)", strings.Join(quoted, ", "), verb)
	}
	return nil
}

// novaBool is parameter_types.boolean: JSON booleans and the strings
// oslo's bool_from_string accepts strictly.
func novaBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "1", "t", "true", "on", "y", "yes":
			return true, true
		case "0", "f", "false", "off", "n", "no":
			return false, true
		}
	}
	return false, false
}

// queryBool is strutils.bool_from_string(strict=True) on a query value.
func queryBool(v string) (bool, bool) { return novaBool(v) }

// pagination (nova/api/openstack/common.py get_limit_and_marker,
// limited_by_marker; max_limit 1000).

const maxLimit = 1000

type page struct {
	limit  int
	marker string
}

func (c *call) pageParams() (page, *response) {
	p := page{limit: maxLimit}
	if v := c.query.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, novaError(http.StatusBadRequest, "limit param must be an integer")
		}
		if n < 0 {
			return p, novaError(http.StatusBadRequest, "limit param must be positive")
		}
		if n < maxLimit {
			p.limit = n
		}
	}
	p.marker = c.query.Get("marker")
	return p, nil
}

// paginate applies marker and limit to ids; it returns the window and
// whether a next link is due.
func paginate(ids []string, p page) (lo, hi int, next bool, ok bool) {
	lo = 0
	if p.marker != "" {
		found := false
		for i, id := range ids {
			if id == p.marker {
				lo, found = i+1, true
				break
			}
		}
		if !found {
			return 0, 0, false, false
		}
	}
	hi = lo + p.limit
	if hi > len(ids) {
		hi = len(ids)
	}
	return lo, hi, hi-lo > 0 && hi-lo == p.limit, true
}

func (c *call) nextLink(collection, marker string) []any {
	q := url.Values{}
	for k, vs := range c.query {
		if k == "marker" {
			continue
		}
		q[k] = vs
	}
	q.Set("marker", marker)
	return []any{map[string]any{"rel": "next", "href": c.base + computePrefix + "/v2.1/" + collection + "?" + q.Encode()}}
}

func (c *call) links(collection, id string) []any {
	return []any{
		map[string]any{"rel": "self", "href": c.base + computePrefix + "/v2.1/" + collection + "/" + id},
		map[string]any{"rel": "bookmark", "href": c.base + computePrefix + "/" + collection + "/" + id},
	}
}

// flavors (nova/api/openstack/compute/flavors.py, views/flavors.py) -------

func (c *call) flavorJSON(f *flavor, detail bool) map[string]any {
	m := map[string]any{"id": f.id, "name": f.name, "links": c.links("flavors", f.id)}
	if c.mv.at(55) {
		m["description"] = nullString(f.description)
	}
	if !detail {
		return m
	}
	m["ram"], m["disk"], m["vcpus"] = f.ram, f.disk, f.vcpus
	m["OS-FLV-EXT-DATA:ephemeral"] = f.ephemeral
	m["OS-FLV-DISABLED:disabled"] = false
	m["os-flavor-access:is_public"] = f.isPublic
	m["rxtx_factor"] = f.rxtx
	if f.swap == 0 && !c.mv.at(75) {
		m["swap"] = ""
	} else {
		m["swap"] = f.swap
	}
	if c.mv.at(61) {
		specs := map[string]any{}
		for k, v := range f.extraSpecs {
			specs[k] = v
		}
		m["extra_specs"] = specs
	}
	return m
}

func (c *call) listFlavors(detail bool) *response {
	p, errResp := c.pageParams()
	if errResp != nil {
		return errResp
	}
	minRAM, _ := strconv.Atoi(c.query.Get("minRam"))
	minDisk, _ := strconv.Atoi(c.query.Get("minDisk"))
	var sel []*flavor
	var ids []string
	for _, f := range c.st.flavors {
		if f.ram < minRAM || f.disk < minDisk {
			continue
		}
		if !f.isPublic && !c.tok.isAdmin() {
			continue
		}
		sel = append(sel, f)
		ids = append(ids, f.id)
	}
	lo, hi, next, ok := paginate(ids, p)
	if !ok {
		return novaError(http.StatusBadRequest, "marker [%s] not found", p.marker)
	}
	out := []any{}
	for _, f := range sel[lo:hi] {
		out = append(out, c.flavorJSON(f, detail))
	}
	body := map[string]any{"flavors": out}
	if next {
		coll := "flavors"
		if detail {
			coll = "flavors/detail"
		}
		body["flavors_links"] = c.nextLink(coll, ids[hi-1])
	}
	return jsonResp(http.StatusOK, body)
}

func (c *call) showFlavor() *response {
	f := c.st.flavor(c.args[0])
	if f == nil {
		return novaError(http.StatusNotFound, "Flavor %s could not be found.", c.args[0])
	}
	return jsonResp(http.StatusOK, map[string]any{"flavor": c.flavorJSON(f, true)})
}

// images: the Nova image proxy, removed at 2.36 -----------------------------

func (c *call) novaImageJSON(im *image, detail bool) map[string]any {
	m := map[string]any{"id": im.id, "name": im.name, "links": c.links("images", im.id)}
	if detail {
		m["status"] = strings.ToUpper(im.status)
		m["progress"] = 100
		m["minDisk"], m["minRam"] = im.minDisk, im.minRAM
		m["created"], m["updated"] = isoTime(im.created), isoTime(im.created)
		m["metadata"] = map[string]any{}
		m["OS-EXT-IMG-SIZE:size"] = im.size
	}
	return m
}

func (c *call) listNovaImages(detail bool) *response {
	if c.mv.at(36) {
		return novaNotFound()
	}
	out := []any{}
	for _, im := range c.st.images {
		if name := c.query.Get("name"); name != "" && im.name != name {
			continue
		}
		out = append(out, c.novaImageJSON(im, detail))
	}
	return jsonResp(http.StatusOK, map[string]any{"images": out})
}

func (c *call) showNovaImage() *response {
	if c.mv.at(36) {
		return novaNotFound()
	}
	im := c.st.image(c.args[0])
	if im == nil {
		return novaError(http.StatusNotFound, "Image not found.")
	}
	return jsonResp(http.StatusOK, map[string]any{"image": c.novaImageJSON(im, true)})
}

// availability zones --------------------------------------------------------

func (c *call) availabilityZones(detail bool) *response {
	if detail {
		if r := c.policy("os_compute_api:os-availability-zone:detail"); r != nil {
			return r
		}
	}
	zones := map[string]map[string]any{}
	var order []string
	for _, sv := range c.st.services {
		zone := sv.zone
		if _, ok := zones[zone]; !ok {
			zones[zone] = map[string]any{}
			order = append(order, zone)
		}
		hosts := zones[zone]
		svcs, _ := hosts[sv.host].(map[string]any)
		if svcs == nil {
			svcs = map[string]any{}
			hosts[sv.host] = svcs
		}
		svcs[sv.binary] = map[string]any{"available": sv.up(), "active": !sv.disabled, "updated_at": microTime(sv.lastBeat(c.now))}
	}
	out := []any{}
	for _, z := range order {
		if !detail && z == "internal" {
			continue
		}
		available := false
		for _, sv := range c.st.services {
			if sv.zone == z && sv.binary == "nova-compute" && sv.up() && !sv.disabled {
				available = true
			}
		}
		if z == "internal" {
			available = true
		}
		entry := map[string]any{"zoneName": z, "zoneState": map[string]any{"available": available}, "hosts": nil}
		if detail {
			entry["hosts"] = zones[z]
		}
		out = append(out, entry)
	}
	return jsonResp(http.StatusOK, map[string]any{"availabilityZoneInfo": out})
}
