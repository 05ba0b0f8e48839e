package openstack

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/gophercloud/gophercloud/v2/openstack"
)

// session is an authenticated connection to one cloud: the provider
// client (token, catalog, re-authentication) and the service clients the
// actions use. It is built on the first action, not in Configure, so that
// validate and plan stay offline until an action needs the cloud.
type session struct {
	pc      *gophercloud.ProviderClient
	compute *gophercloud.ServiceClient // no microversion: use nova()
	network *gophercloud.ServiceClient
	image   *gophercloud.ServiceClient // nil when the catalog has no image service

	// novaMax is the newest compute microversion the cloud offers (or the
	// pinned compute_microversion); novaMin the oldest.
	novaMax, novaMin microversion
}

// authOptions turns credentials into gophercloud's: application
// credentials when given (they carry their own scope), else a password
// scoped to the project. A username without a domain is taken to live in
// the "Default" domain, as is a project name, which is what devstack,
// kolla and the simulator use.
func authOptions(c *credentials) gophercloud.AuthOptions {
	ao := gophercloud.AuthOptions{IdentityEndpoint: c.AuthURL, AllowReauth: true}
	if c.ApplicationCredentialID != "" || c.ApplicationCredentialName != "" {
		ao.ApplicationCredentialID = c.ApplicationCredentialID
		ao.ApplicationCredentialName = c.ApplicationCredentialName
		ao.ApplicationCredentialSecret = c.ApplicationCredentialSecret
		if c.ApplicationCredentialID == "" {
			// A credential named, not identified, belongs to a user.
			ao.Username, ao.UserID = c.Username, c.UserID
			ao.DomainName, ao.DomainID = userDomain(c)
		}
		return ao
	}
	ao.Username, ao.UserID, ao.Password = c.Username, c.UserID, c.Password
	if c.UserID == "" {
		ao.DomainName, ao.DomainID = userDomain(c)
	}
	scope := &gophercloud.AuthScope{}
	switch {
	case c.ProjectID != "":
		scope.ProjectID = c.ProjectID
	case c.ProjectName != "":
		scope.ProjectName = c.ProjectName
		scope.DomainName, scope.DomainID = projectDomain(c)
	}
	if *scope != (gophercloud.AuthScope{}) {
		ao.Scope = scope
	}
	return ao
}

func userDomain(c *credentials) (name, id string) {
	switch {
	case c.UserDomainID != "":
		return "", c.UserDomainID
	case c.UserDomainName != "":
		return c.UserDomainName, ""
	case c.DomainID != "":
		return "", c.DomainID
	case c.DomainName != "":
		return c.DomainName, ""
	}
	return "Default", ""
}

func projectDomain(c *credentials) (name, id string) {
	switch {
	case c.ProjectDomainID != "":
		return "", c.ProjectDomainID
	case c.ProjectDomainName != "":
		return c.ProjectDomainName, ""
	case c.DomainID != "":
		return "", c.DomainID
	case c.DomainName != "":
		return c.DomainName, ""
	}
	return "Default", ""
}

// httpClient is the transport every request of the session uses: the CA
// bundle, client certificate and verification the credentials ask for.
// Requests have no overall timeout: each action's context bounds them.
// Its errors point at ca_file (or at cloud, when the file came from
// clouds.yaml): Configure builds it.
func httpClient(c *credentials, attr string) (http.Client, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.MaxIdleConnsPerHost = 64                                                       // host_evacuate polls many servers at once
	tlsc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: c.Insecure} //nolint:gosec // the operator asked for it
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return http.Client{}, attrErr(attr, fmt.Errorf("ca_file: %w", err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return http.Client{}, attrErr(attr, fmt.Errorf("ca_file %s has no PEM certificate", c.CAFile))
		}
		tlsc.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return http.Client{}, fmt.Errorf("client certificate: %w", err)
		}
		tlsc.Certificates = []tls.Certificate{cert}
	}
	tr.TLSClientConfig = tlsc
	return http.Client{Transport: tr}, nil
}

// connect authenticates against Keystone v3 and finds the compute,
// network and (optional) image endpoints in the catalog.
func connect(ctx context.Context, c *credentials, hc http.Client, pin string) (*session, error) {
	pc, err := openstack.NewClient(c.AuthURL)
	if err != nil {
		return nil, fmt.Errorf("auth_url %q: %w", c.AuthURL, err)
	}
	pc.HTTPClient = hc
	pc.UserAgent.Prepend("runbook-provider-openstack/" + Version)
	// AuthenticateV3 posts to <auth_url without version>/v3/auth/tokens
	// directly: Keystone v2 is long gone, and skipping the version
	// discovery saves a round trip.
	if err := openstack.AuthenticateV3(ctx, pc, ptr(authOptions(c)), gophercloud.EndpointOpts{}); err != nil {
		return nil, fmt.Errorf("authenticating with %s: %w", c.source, apiError(err))
	}
	eo := gophercloud.EndpointOpts{Region: c.Region, Availability: gophercloud.Availability(c.Interface)}
	s := &session{pc: pc}
	if s.compute, err = openstack.NewComputeV2(pc, eo); err != nil {
		return nil, fmt.Errorf("compute endpoint (region %q, interface %q): %w", c.Region, eoInterface(c), err)
	}
	if s.network, err = openstack.NewNetworkV2(pc, eo); err != nil {
		return nil, fmt.Errorf("network endpoint (region %q, interface %q): %w", c.Region, eoInterface(c), err)
	}
	if img, err := openstack.NewImageV2(pc, eo); err == nil {
		s.image = img
	}
	if pin != "" {
		v, err := parseMicroversion(pin) // checked by Configure
		if err != nil {
			return nil, err
		}
		s.novaMin, s.novaMax = microversion{2, 1}, v
		return s, nil
	}
	s.novaMin, s.novaMax, err = discoverNova(ctx, s.compute)
	if err != nil {
		return nil, err
	}
	return s, nil
}

func eoInterface(c *credentials) string {
	if c.Interface == "" {
		return "public"
	}
	return c.Interface
}

// discoverNova reads the compute API's version document (GET on the
// endpoint: {"version": {"version": "2.96", "min_version": "2.1"}}). A
// catalog endpoint that ends in the project id (/v2.1/<project>) is
// retried without it. A cloud that answers with no microversions at all
// is treated as 2.1, the base of the v2.1 API.
func discoverNova(ctx context.Context, sc *gophercloud.ServiceClient) (minV, maxV microversion, err error) {
	base := microversion{2, 1}
	candidates := []string{sc.Endpoint}
	if u, perr := url.Parse(sc.Endpoint); perr == nil {
		p := strings.TrimSuffix(u.Path, "/")
		if i := strings.LastIndex(p, "/"); i > 0 && !strings.HasPrefix(p[i+1:], "v2") {
			u.Path = p[:i+1]
			candidates = append(candidates, u.String())
		}
	}
	var lastErr error
	for _, ep := range candidates {
		type version struct {
			ID         string `json:"id"`
			Version    string `json:"version"`
			MinVersion string `json:"min_version"`
		}
		var doc struct {
			Version  *version  `json:"version"`
			Versions []version `json:"versions"` // an unversioned endpoint's list
		}
		_, err := sc.ProviderClient.Request(ctx, http.MethodGet, ep, &gophercloud.RequestOpts{JSONResponse: &doc, OkCodes: []int{200, 300}})
		if err != nil {
			lastErr = err
			if ctx.Err() != nil || isRetryable(err) {
				return minV, maxV, fmt.Errorf("reading the compute API version: %w", apiError(err))
			}
			continue
		}
		for i := range doc.Versions {
			if doc.Version == nil && doc.Versions[i].ID == "v2.1" {
				doc.Version = &doc.Versions[i]
			}
		}
		if doc.Version == nil || doc.Version.Version == "" {
			return base, base, nil
		}
		maxV, err = parseMicroversion(doc.Version.Version)
		if err != nil {
			return minV, maxV, fmt.Errorf("compute API version document: %w", err)
		}
		minV = base
		if doc.Version.MinVersion != "" {
			if minV, err = parseMicroversion(doc.Version.MinVersion); err != nil {
				return minV, maxV, fmt.Errorf("compute API version document: %w", err)
			}
		}
		return minV, maxV, nil
	}
	return minV, maxV, fmt.Errorf("reading the compute API version (set compute_microversion to skip it): %w", apiError(lastErr))
}

// nova is the compute client at microversion v, capped by what the cloud
// offers. Service clients are copied, never shared with a microversion
// set, because actions run concurrently.
func (s *session) nova(want microversion) *gophercloud.ServiceClient {
	c := *s.compute
	c.Microversion = s.at(want).String()
	return &c
}

// at is want capped by the cloud's newest microversion.
func (s *session) at(want microversion) microversion {
	if s.novaMax.less(want) {
		return s.novaMax
	}
	return want
}

func ptr[T any](v T) *T { return &v }
