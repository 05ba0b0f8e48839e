package openstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/runbook-dev/runbook/internal/sim/simfault"
)

// The services and where they live under the base URL. The catalog points
// at these paths on whatever host the client used to reach the simulator.
const (
	svcIdentity  = "identity"  // /v3 (and the version list at /)
	svcCompute   = "compute"   // /compute/v2.1
	svcNetwork   = "network"   // /network/v2.0
	svcImage     = "image"     // /image/v2
	svcPlacement = "placement" // /placement

	computePrefix   = "/compute"
	networkPrefix   = "/network"
	imagePrefix     = "/image"
	placementPrefix = "/placement"
)

func serviceOf(path string) string {
	switch {
	case path == "/" || path == "" || path == "/v3" || strings.HasPrefix(path, "/v3/"):
		return svcIdentity
	case hasSegmentPrefix(path, computePrefix):
		return svcCompute
	case hasSegmentPrefix(path, networkPrefix):
		return svcNetwork
	case hasSegmentPrefix(path, imagePrefix):
		return svcImage
	case hasSegmentPrefix(path, placementPrefix):
		return svcPlacement
	}
	return ""
}

func hasSegmentPrefix(path, prefix string) bool {
	return path == prefix || strings.HasPrefix(path, prefix+"/")
}

// response is what a handler computed under the lock; it is written after.
type response struct {
	status int
	body   any    // JSON unless raw is set; nil with raw nil means no body
	raw    []byte // written verbatim
	ctype  string
	header http.Header
}

func jsonResp(status int, body any) *response { return &response{status: status, body: body} }

func emptyResp(status int) *response { return &response{status: status} }

func (r *response) with(k, v string) *response {
	if r.header == nil {
		r.header = http.Header{}
	}
	r.header.Set(k, v)
	return r
}

// call is one API request being handled (under Server.mu).
type call struct {
	s       *Server
	st      *state
	r       *http.Request
	body    []byte
	now     time.Time
	base    string // scheme://host the client used
	query   url.Values
	tok     *token
	mv      microversion // Nova only
	args    []string     // wildcard path segments
	reqID   string
	service string
}

// The error bodies of each service.

// novaFaultNames is nova/api/openstack/wsgi.py Fault._fault_names; other
// codes are "computeFault".
var novaFaultNames = map[int]string{
	400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound",
	405: "badMethod", 409: "conflictingRequest", 413: "overLimit", 415: "badMediaType",
	429: "overLimit", 501: "notImplemented", 503: "serviceUnavailable",
}

func novaError(status int, format string, args ...any) *response {
	name, ok := novaFaultNames[status]
	if !ok {
		name = "computeFault"
	}
	return jsonResp(status, map[string]any{name: map[string]any{"code": status, "message": fmt.Sprintf(format, args...)}})
}

// neutronError is neutron's api/v2 faults: {"NeutronError": {type, message,
// detail}}.
func neutronError(status int, typ, format string, args ...any) *response {
	return jsonResp(status, map[string]any{"NeutronError": map[string]any{"type": typ, "message": fmt.Sprintf(format, args...), "detail": ""}})
}

// keystoneError is keystone's exception body.
func keystoneError(status int, title, format string, args ...any) *response {
	return jsonResp(status, map[string]any{"error": map[string]any{"code": status, "title": title, "message": fmt.Sprintf(format, args...)}})
}

// unauthenticated is what keystonemiddleware's auth_token answers for a
// missing, invalid or expired X-Auth-Token, in front of every service.
func (c *call) unauthenticated() *response {
	return keystoneError(http.StatusUnauthorized, "Unauthorized", "The request you have made requires authentication.").
		with("WWW-Authenticate", fmt.Sprintf("Keystone uri=%q", c.base+"/v3"))
}

// webobError is a webob HTTPException rendered as JSON (Glance).
func webobError(status int, message string) *response {
	return jsonResp(status, map[string]any{"message": message, "code": fmt.Sprintf("%d %s", status, http.StatusText(status)), "title": http.StatusText(status)})
}

const maxBody = 16 << 20

// ServeHTTP answers the APIs and the control endpoints (/_sim/...).
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/_sim" || strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	rec := &simfault.Recorder{ResponseWriter: w}
	svc := serviceOf(r.URL.Path)
	entry := RequestRecord{
		Method: r.Method, Path: r.URL.Path, Query: simfault.RedactQuery(r.URL.Query()),
		Time: s.clock.Now().UTC(), Service: svc, Auth: authKind(r),
	}
	defer func() {
		entry.Status = rec.Status
		entry.Dropped = rec.Dropped
		if rec.Dropped {
			entry.Status = 0
		}
		s.log.Add(entry)
	}()
	if f := s.currentPicker().Pick(r); f != nil {
		entry.Fault = f.Kind
		if f.Latency > 0 {
			time.Sleep(f.Latency)
		}
		switch f.Kind {
		case "drop":
			rec.Drop()
			return
		case "error":
			s.write(rec, r, faultResponse(svc, f.Status))
			return
		}
	}
	resp := s.handle(r, svc, &entry)
	s.write(rec, r, resp)
}

func (s *Server) write(w http.ResponseWriter, r *http.Request, resp *response) {
	for k, vs := range resp.header {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	var b []byte
	switch {
	case resp.raw != nil:
		b = resp.raw
		if resp.ctype != "" {
			w.Header().Set("Content-Type", resp.ctype)
		}
	case resp.body != nil:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(resp.body); err != nil {
			buf.Reset()
			buf.WriteString(`{"error": "cannot encode response"}`)
			resp.status = http.StatusInternalServerError
		}
		b = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
		w.Header().Set("Content-Type", orDefault(resp.ctype, "application/json"))
	}
	if resp.status == http.StatusNoContent || resp.status == http.StatusNotModified {
		w.WriteHeader(resp.status)
		return
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(resp.status)
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(b)
}

// handle routes one API request.
func (s *Server) handle(r *http.Request, svc string, entry *RequestRecord) *response {
	var body []byte
	if r.Body != nil {
		b, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
		if err != nil {
			return jsonResp(http.StatusBadRequest, map[string]any{"message": "cannot read the request body"})
		}
		body = b
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clock.Now().UTC()
	s.st.advance(now)
	c := &call{
		s: s, st: s.st, r: r, body: body, now: now, base: scheme + "://" + r.Host,
		query: r.URL.Query(), service: svc, reqID: "req-" + s.requestID(),
	}
	var resp *response
	switch svc {
	case svcIdentity:
		resp = c.keystone()
	case svcCompute:
		resp = c.nova()
		if c.mv != (microversion{}) {
			entry.Microversion = c.mv.String()
		}
	case svcNetwork:
		resp = c.neutron()
	case svcImage:
		resp = c.glance()
	case svcPlacement:
		resp = c.placement()
	default:
		resp = &response{status: http.StatusNotFound, raw: []byte("404 Not Found\n"), ctype: "text/plain; charset=utf-8"}
	}
	if svc != "" {
		resp.with("X-Openstack-Request-Id", c.reqID)
	}
	return resp
}

func (s *Server) requestID() string {
	var b [16]byte
	for i := 0; i < 16; i += 8 {
		v := s.reqs.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// authenticate checks X-Auth-Token like keystonemiddleware does.
func (c *call) authenticate() *response {
	id := c.r.Header.Get("X-Auth-Token")
	if id == "" {
		return c.unauthenticated()
	}
	t := c.st.tokens[id]
	if t == nil || t.revoked || !c.now.Before(t.expires) {
		return c.unauthenticated()
	}
	if u := c.st.user(t.userID); u == nil || !u.enabled {
		return c.unauthenticated()
	}
	c.tok = t
	return nil
}

// jsonBody decodes the request body into a generic value; ok is false when
// it is not JSON.
func (c *call) jsonBody() (any, bool) {
	if len(bytes.TrimSpace(c.body)) == 0 {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(c.body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	if dec.More() {
		return nil, false
	}
	return v, true
}

// segments splits a path below a prefix: "/a/b/" -> ["a", "b"].
func segments(rest string) []string {
	rest = strings.Trim(rest, "/")
	if rest == "" {
		return nil
	}
	return strings.Split(rest, "/")
}

// match reports whether segs fit pattern ("*" matches one non-empty
// segment) and returns the wildcard values.
func match(segs []string, pattern ...string) ([]string, bool) {
	if len(segs) != len(pattern) {
		return nil, false
	}
	var args []string
	for i, p := range pattern {
		if p == "*" {
			if segs[i] == "" {
				return nil, false
			}
			args = append(args, segs[i])
			continue
		}
		if p != segs[i] {
			return nil, false
		}
	}
	return args, true
}

// Nova and Neutron print times their own ways.

// isoTime is Nova's utils.isotime: "2014-09-25T13:04:41Z".
func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// microTime is what Nova prints for datetime fields serialised by its
// objects without a zone: "2014-09-25T13:04:49.000000".
func microTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000") }

// nullTime is a microTime or null.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return microTime(t)
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}
