package client

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
)

const (
	// APIVersionPath is appended to the endpoint's path.
	APIVersionPath = "/api/v3.1"
	// DefaultTenant is the tenant every manager has.
	DefaultTenant = "default_tenant"
	// DefaultUserAgent is sent unless Config.UserAgent says otherwise.
	DefaultUserAgent = "runbook-manager-provider"
	// DefaultPollInterval is the wait helpers' interval when given none.
	DefaultPollInterval = 2 * time.Second

	// Header names (cloudify/constants.py in cloudify-common).
	headerToken             = "Authentication-Token"
	headerTenant            = "Tenant"
	headerBypassMaintenance = "X-BYPASS-MAINTENANCE"

	// maxErrorBody bounds how much of an error answer is read.
	maxErrorBody = 64 << 10
)

// Config says how to reach and authenticate to one manager.
type Config struct {
	// Endpoint is the manager's base URL, "https://host[:port][/prefix]" or
	// "http://...". APIVersionPath is appended unless the path already ends
	// with it.
	Endpoint string
	// Username and Password authenticate with HTTP Basic auth; Token with
	// the Authentication-Token header instead (it wins when both are set).
	// With neither, only the unauthenticated endpoints (/ok,
	// /snapshot-status) work.
	Username string
	Password string
	Token    string
	// Tenant is sent in the Tenant header; "" means DefaultTenant.
	Tenant string
	// CAFile is a PEM bundle that verifies the manager's certificate in
	// place of the system roots. Insecure skips verification. They are
	// exclusive.
	CAFile   string
	Insecure bool
	// HTTPClient replaces the client the package builds (tests, proxies).
	// It is used as is: CAFile and Insecure must then be unset. Redirects
	// are never followed, whatever its CheckRedirect says.
	HTTPClient *http.Client
	// UserAgent replaces DefaultUserAgent.
	UserAgent string
}

// Client talks to one manager. It is safe for concurrent use.
type Client struct {
	base      *url.URL // endpoint with APIVersionPath
	root      *url.URL // endpoint + "/api", for the unversioned /api/version
	hc        *http.Client
	basicAuth string // "Basic ..." or ""
	token     string
	tenant    string
	userAgent string
	secrets   []string // redacted from error messages

	Snapshots      *SnapshotsService
	Executions     *ExecutionsService
	Events         *EventsService
	Maintenance    *MaintenanceService
	PluginsUpdates *PluginsUpdatesService
	Managers       *ManagersService
}

// New checks cfg and returns a client. It makes no request.
func New(cfg Config) (*Client, error) {
	base, root, err := parseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	c := &Client{
		base:      base,
		root:      root,
		token:     cfg.Token,
		tenant:    cfg.Tenant,
		userAgent: cfg.UserAgent,
	}
	if c.tenant == "" {
		c.tenant = DefaultTenant
	}
	if c.userAgent == "" {
		c.userAgent = DefaultUserAgent
	}
	if cfg.Token == "" && (cfg.Username != "" || cfg.Password != "") {
		if cfg.Username == "" {
			return nil, errors.New("manager client: password is set but username is empty")
		}
		cred := base64.StdEncoding.EncodeToString([]byte(cfg.Username + ":" + cfg.Password))
		c.basicAuth = "Basic " + cred
		c.secrets = append(c.secrets, cred)
	}
	for _, s := range []string{cfg.Password, cfg.Token} {
		if len(s) >= 3 { // shorter strings would redact ordinary words
			c.secrets = append(c.secrets, s)
		}
	}

	if cfg.HTTPClient != nil {
		if cfg.CAFile != "" || cfg.Insecure {
			return nil, errors.New("manager client: ca_file and insecure cannot be combined with a custom HTTP client")
		}
		hc := *cfg.HTTPClient
		c.hc = &hc
	} else {
		tlsConf, err := tlsConfig(cfg.CAFile, cfg.Insecure)
		if err != nil {
			return nil, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tlsConf
		c.hc = &http.Client{Transport: tr}
	}
	// A redirect would resend the Authentication-Token header to wherever
	// it points and turn a POST into a GET: report it instead.
	c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	c.Snapshots = &SnapshotsService{c: c}
	c.Executions = &ExecutionsService{c: c}
	c.Events = &EventsService{c: c}
	c.Maintenance = &MaintenanceService{c: c}
	c.PluginsUpdates = &PluginsUpdatesService{c: c}
	c.Managers = &ManagersService{c: c}
	return c, nil
}

// BaseURL is the API base, e.g. "https://10.0.0.5/api/v3.1".
func (c *Client) BaseURL() string { return c.base.String() }

// Tenant is the tenant sent with every request.
func (c *Client) Tenant() string { return c.tenant }

func parseEndpoint(raw string) (base, root *url.URL, err error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, nil, errors.New("manager client: endpoint is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Parse quotes the input; it carries no credentials we know of
		// but say nothing more than needed.
		return nil, nil, fmt.Errorf("manager client: endpoint is not a URL: %v", errors.Unwrap(err))
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, nil, fmt.Errorf("manager client: endpoint %q must start with https:// or http://", u.Redacted())
	}
	if u.Host == "" {
		return nil, nil, fmt.Errorf("manager client: endpoint %q has no host", u.Redacted())
	}
	if u.User != nil {
		return nil, nil, errors.New("manager client: endpoint must not carry credentials; use username and password or token")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, nil, fmt.Errorf("manager client: endpoint %q must not have a query or fragment", u.Redacted())
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, APIVersionPath)
	root = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: p + "/api"}
	base = &url.URL{Scheme: u.Scheme, Host: u.Host, Path: p + APIVersionPath}
	return base, root, nil
}

func tlsConfig(caFile string, insecure bool) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" && insecure {
		return nil, errors.New("manager client: ca_file and insecure are exclusive: verify with the CA or not at all")
	}
	if insecure {
		conf.InsecureSkipVerify = true // the user asked for it
		return conf, nil
	}
	if caFile == "" {
		return conf, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("manager client: cannot read ca_file: %w", err)
	}
	if len(bytes.TrimSpace(pem)) == 0 {
		return nil, fmt.Errorf("manager client: ca_file %s is empty", caFile)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("manager client: ca_file %s holds no PEM certificate", caFile)
	}
	conf.RootCAs = pool
	return conf, nil
}

// request describes one API call.
type request struct {
	method string
	// path is relative to the API base, segments already escaped
	// (see pathOf), e.g. "/snapshots/snap%201".
	path  string
	query url.Values
	// json is encoded as the body when non-nil.
	json any
	// body is sent as is (with contentType) when json is nil.
	body          io.Reader
	contentLength int64
	contentType   string
	header        http.Header
	// noAuth leaves out credentials and the tenant (/ok, /snapshot-status).
	noAuth bool
	// unversioned addresses /api instead of /api/v3.1 (/api/version).
	unversioned bool
	// alsoOK are non-2xx statuses handed back like a 2xx.
	alsoOK []int
}

// pathOf joins escaped path segments: pathOf("snapshots", id, "archive").
func pathOf(segments ...string) string {
	var b strings.Builder
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// do sends r and returns the response when its status is 2xx; anything else
// becomes an *APIError, no answer a *ConnError. The caller closes the body.
func (c *Client) do(ctx context.Context, r *request) (*http.Response, error) {
	u := *c.base
	if r.unversioned {
		u = *c.root
	}
	escaped := u.EscapedPath() + r.path
	p, err := url.PathUnescape(escaped)
	if err != nil {
		return nil, fmt.Errorf("manager client: bad path %q", escaped)
	}
	u.Path, u.RawPath = p, escaped
	if len(r.query) > 0 {
		u.RawQuery = r.query.Encode()
	}
	// The path shown in errors: never the query, which may hold a URL with
	// credentials (snapshot_archive_url).
	shown := u.EscapedPath()

	var body io.Reader
	contentType := r.contentType
	if r.json != nil {
		buf, err := json.Marshal(r.json)
		if err != nil {
			return nil, fmt.Errorf("manager client: encoding %s %s: %w", r.method, shown, err)
		}
		body = bytes.NewReader(buf)
		contentType = "application/json"
	} else if r.body != nil {
		body = r.body
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return nil, fmt.Errorf("manager client: %s %s: %v", r.method, shown, err)
	}
	if r.json == nil && r.body != nil {
		req.ContentLength = r.contentLength
		if r.contentLength == 0 {
			req.Body = http.NoBody
		}
	}
	for k, vs := range r.header {
		req.Header[k] = vs
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	req.Header.Set("User-Agent", c.userAgent)
	if !r.noAuth {
		req.Header.Set(headerTenant, c.tenant)
		switch {
		case c.token != "":
			req.Header.Set(headerToken, c.token)
		case c.basicAuth != "":
			req.Header.Set("Authorization", c.basicAuth)
		}
	}

	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.connError(ctx, r.method, shown, err)
	}
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 || slices.Contains(r.alsoOK, resp.StatusCode) {
		return resp, nil
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	return nil, c.apiError(r.method, shown, resp, raw)
}

// connError turns a transport failure into a *ConnError, or into the
// context's error when the caller gave up (that is not retryable).
func (c *Client) connError(ctx context.Context, method, path string, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		// url.Error repeats the whole URL, query included: keep the cause.
		err = ue.Err
	}
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("manager API %s %s: %w", method, path, context.Cause(ctx))
	}
	return &ConnError{Method: method, Path: path, Err: c.redactErr(err), permanent: isPermanentTLS(err)}
}

// apiError makes the error of an answer outside 2xx whose body is raw.
func (c *Client) apiError(method, path string, resp *http.Response, raw []byte) *APIError {
	e := &APIError{Method: method, Path: path, StatusCode: resp.StatusCode}
	var body struct {
		Message         *string `json:"message"`
		ErrorCode       string  `json:"error_code"`
		ServerTraceback *string `json:"server_traceback"`
	}
	switch {
	case json.Unmarshal(raw, &body) == nil && body.Message != nil:
		e.Message = *body.Message
		e.Code = body.ErrorCode
		if body.ServerTraceback != nil {
			e.Traceback = *body.ServerTraceback
		}
	case resp.StatusCode == http.StatusNotModified:
		// As the Python client does for an empty 304.
		e.Code, e.Message = CodeNotModified, "Nothing to modify"
	case resp.StatusCode >= 300 && resp.StatusCode <= 399:
		if loc := resp.Header.Get("Location"); loc != "" {
			e.Message = "redirected to " + redactURL(loc) + "; set the endpoint to the final address"
		}
	default:
		e.Message = excerpt(raw)
	}
	e.Message = c.redact(e.Message)
	e.Traceback = c.redact(e.Traceback)
	return e
}

// excerpt makes a short one-line message of a non-JSON body (an nginx error
// page, a proxy's text).
func excerpt(raw []byte) string {
	s := strings.Join(strings.Fields(string(raw)), " ")
	const max = 200
	if len(s) > max {
		s = s[:max] + "..."
	}
	return s
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable Location)"
	}
	u.RawQuery = ""
	return u.Redacted()
}

// redact removes the configured secrets from a server-provided string: a
// proxy's error page may echo request headers.
func (c *Client) redact(s string) string {
	for _, secret := range c.secrets {
		s = strings.ReplaceAll(s, secret, "***")
	}
	return s
}

func (c *Client) redactErr(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if red := c.redact(msg); red != msg {
		return errors.New(red)
	}
	return err
}

// doJSON sends r and decodes a JSON answer into out (nil: discard).
func (c *Client) doJSON(ctx context.Context, r *request, out any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	return c.decode(ctx, r.method, resp, out)
}

func (c *Client) decode(ctx context.Context, method string, resp *http.Response, out any) error {
	path := resp.Request.URL.EscapedPath()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return c.connError(ctx, method, path, err)
	}
	if out == nil {
		return nil
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return fmt.Errorf("manager API %s %s: %d with an empty body, expected JSON", method, path, resp.StatusCode)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("manager API %s %s: decoding the answer: %v (body: %s)", method, path, err, c.redact(excerpt(raw)))
	}
	return nil
}

// boolString is how the Python client sends booleans it wants read by
// verify_and_convert_bool: "true" or "false".
func boolString(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// Bool returns a pointer to b, for the optional fields of the options
// structs.
func Bool(b bool) *bool { return &b }

// Int returns a pointer to n.
func Int(n int) *int { return &n }
