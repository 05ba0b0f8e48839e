package core

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
)

type httpArgs struct {
	url      *url.URL
	method   string
	headers  map[string]string
	body     *string
	expect   []int
	insecure bool
	caFile   string
}

// parseHTTP validates core.http's inputs; unknown inputs are skipped.
func parseHTTP(c *call) (*httpArgs, error) {
	a := &httpArgs{method: http.MethodGet}
	var err error
	if raw, ok := c.str("url"); ok {
		if a.url, err = parseHTTPURL(raw, "url"); err != nil {
			return nil, err
		}
	}
	if m, ok := c.str("method"); ok {
		a.method = strings.ToUpper(strings.TrimSpace(m))
		if !isToken(a.method) {
			return nil, attrErr(cty.GetAttrPath("method"), "%q is not an HTTP method", m)
		}
	}
	if a.headers, _, err = c.strMap("headers"); err != nil {
		return nil, err
	}
	for k, v := range a.headers {
		if !isToken(k) {
			return nil, attrErr(cty.GetAttrPath("headers").Index(cty.StringVal(k)), "%q is not a valid header name", k)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, attrErr(cty.GetAttrPath("headers").Index(cty.StringVal(k)), "the value of header %s contains a line break or NUL byte", k)
		}
	}
	if s, ok := c.str("body"); ok {
		a.body = &s
	}
	if a.expect, _, err = c.intList("expect_status"); err != nil {
		return nil, err
	}
	for i, code := range a.expect {
		if code < 100 || code > 599 {
			return nil, attrErr(cty.GetAttrPath("expect_status").IndexInt(i), "%d is not an HTTP status code", code)
		}
	}
	a.insecure = c.boolean("insecure")
	a.caFile, _ = c.str("ca_file")
	return a, nil
}

// parseHTTPURL checks that raw is an absolute http or https URL. The
// message never repeats the URL: it may hold a password.
func parseHTTPURL(raw, attr string) (*url.URL, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, attrErr(cty.GetAttrPath(attr), "%q is not a valid URL: %s", attr, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, attrErr(cty.GetAttrPath(attr), "%q must be an http:// or https:// URL, got scheme %q", attr, u.Scheme)
	}
	if u.Host == "" {
		return nil, attrErr(cty.GetAttrPath(attr), "%q has no host", attr)
	}
	return u, nil
}

// isToken reports whether s is an RFC 9110 token (a method or header name).
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= 0x80 || r <= ' ' || strings.ContainsRune("\"(),/:;<=>?@[\\]{}\x7f", r) {
			return false
		}
	}
	return true
}

func planHTTP(_ context.Context, c *call) (cty.Value, error) {
	if _, err := parseHTTP(c); err != nil {
		return cty.NilVal, err
	}
	return unknownOutputs(c), nil
}

func applyHTTP(ctx context.Context, c *call) (cty.Value, error) {
	a, err := parseHTTP(c)
	if err != nil {
		return cty.NilVal, err
	}
	client, err := newHTTPClient(a.insecure, a.caFile)
	if err != nil {
		return cty.NilVal, err
	}
	defer client.CloseIdleConnections()

	var body io.Reader
	if a.body != nil {
		body = strings.NewReader(*a.body)
	}
	req, err := http.NewRequestWithContext(ctx, a.method, a.url.String(), body)
	if err != nil {
		return cty.NilVal, provider.Errorf("%s %s: %s", a.method, a.url.Redacted(), err)
	}
	for k, v := range a.headers {
		if textproto.CanonicalMIMEHeaderKey(k) == "Host" {
			req.Host = v
			continue
		}
		req.Header.Set(k, v)
	}
	what := a.method + " " + a.url.Redacted()
	c.log("debug", "%s", what)
	start := time.Now()
	resp, err := client.Do(req)
	if err != nil {
		return cty.NilVal, requestError(ctx, what, err)
	}
	defer func() { _ = resp.Body.Close() }()
	limit := c.p.opts.MaxOutput
	raw, err := io.ReadAll(io.LimitReader(resp.Body, int64(limit)+1))
	if err != nil {
		if ctx.Err() != nil {
			return cty.NilVal, ctxError(ctx, what)
		}
		return cty.NilVal, provider.RetryableErrorf("%s: reading the response (status %s): %s", what, resp.Status, err)
	}
	truncated := len(raw) > limit
	if truncated {
		raw = raw[:limit]
	}
	c.log("debug", "%s: %s after %s", what, resp.Status, time.Since(start).Round(time.Millisecond))

	if !statusOK(resp.StatusCode, a.expect) {
		msg := fmt.Sprintf("%s: unexpected status %s (expected %s)", what, resp.Status, describeExpect(a.expect))
		if s := snippet(raw, 512); s != "" {
			msg += ": " + s
		}
		return cty.NilVal, &provider.Error{Message: msg, Retryable: retryableStatus(resp.StatusCode)}
	}

	jsonOut := cty.NullVal(cty.DynamicPseudoType)
	if isJSONContentType(resp.Header.Get("Content-Type")) {
		if truncated {
			c.log("warn", "%s: the JSON body is longer than %d bytes and was truncated; json is null", what, limit)
		} else if v, err := parseJSON(raw); err != nil {
			c.log("warn", "%s: the body is not valid JSON (%s); json is null", what, err)
		} else {
			jsonOut = v
		}
	}
	return cty.ObjectVal(map[string]cty.Value{
		"status":  cty.NumberIntVal(int64(resp.StatusCode)),
		"headers": headerMap(resp.Header),
		"body":    cty.StringVal(capped(raw, truncated, limit)),
		"json":    jsonOut,
	}), nil
}

// newHTTPClient returns a client with the default transport's settings
// (proxies from the environment, timeouts, HTTP/2) and the requested TLS
// trust.
func newHTTPClient(insecure bool, caFile string) (*http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if insecure || caFile != "" {
		cfg := &tls.Config{InsecureSkipVerify: insecure, MinVersion: tls.VersionTLS12} //nolint:gosec // insecure is the operator's explicit choice
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return nil, attrErr(cty.GetAttrPath("ca_file"), "ca_file: %s", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, attrErr(cty.GetAttrPath("ca_file"), "ca_file %s holds no PEM certificates", caFile)
			}
			cfg.RootCAs = pool
		}
		tr.TLSClientConfig = cfg
	}
	return &http.Client{Transport: tr}, nil
}

// requestError classifies a failed round trip. Connection failures are
// retryable; a certificate that does not verify is not (retrying will not
// change it).
func requestError(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctxError(ctx, what)
	}
	// *url.Error repeats the method and URL; keep only the cause.
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if isCertError(err) {
		return provider.Errorf("%s: %s (set ca_file to trust its CA, or insecure = true)", what, err)
	}
	return provider.RetryableErrorf("%s: %s", what, err)
}

func isCertError(err error) bool {
	var cve *tls.CertificateVerificationError
	var uae x509.UnknownAuthorityError
	var he x509.HostnameError
	var cie x509.CertificateInvalidError
	return errors.As(err, &cve) || errors.As(err, &uae) || errors.As(err, &he) || errors.As(err, &cie)
}

func statusOK(code int, expect []int) bool {
	if len(expect) == 0 {
		return code >= 200 && code <= 299
	}
	return slices.Contains(expect, code)
}

// retryableStatus: server errors and rate limiting may pass; other
// unexpected statuses (4xx, a 3xx not followed) will not.
func retryableStatus(code int) bool {
	return code >= 500 || code == http.StatusTooManyRequests
}

func describeExpect(expect []int) string {
	if len(expect) == 0 {
		return "2xx"
	}
	parts := make([]string, len(expect))
	for i, c := range expect {
		parts[i] = strconv.Itoa(c)
	}
	return strings.Join(parts, ", ")
}

func isJSONContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	return mt == "application/json" || strings.HasSuffix(mt, "+json")
}

// headerMap keeps the first value of each response header, under its
// canonical name.
func headerMap(h http.Header) cty.Value {
	if len(h) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	m := make(map[string]cty.Value, len(h))
	for k, vs := range h {
		if len(vs) > 0 {
			m[textproto.CanonicalMIMEHeaderKey(k)] = cty.StringVal(validUTF8([]byte(vs[0])))
		}
	}
	if len(m) == 0 {
		return cty.MapValEmpty(cty.String)
	}
	return cty.MapVal(m)
}

// probeURL makes one GET for core.wait. It returns "" when the URL
// answered 2xx, else a description of the failure.
func probeURL(ctx context.Context, client *http.Client, u *url.URL) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err.Error()
	}
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return "GET " + u.Redacted() + ": " + err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	// Drain a little so that the connection can be reused for the next poll.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		return ""
	}
	return "GET " + u.Redacted() + ": status " + resp.Status
}
