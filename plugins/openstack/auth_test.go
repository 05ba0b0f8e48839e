package openstack

import (
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gophercloud/gophercloud/v2"
	"github.com/zclconf/go-cty/cty"
)

// env is a fake environment.
type env map[string]string

func (e env) get(k string) string { return e[k] }

const cloudsYAML = `
clouds:
  prod:
    auth:
      auth_url: https://keystone.example.org:5000/v3
      username: ops
      project_name: dr
      user_domain_name: Ops
      project_domain_id: default
    region_name: RegionTwo
    interface: internal
    cacert: /etc/ssl/prod.pem
  appcred:
    auth_type: v3applicationcredential
    auth:
      auth_url: https://keystone.example.org/v3
      application_credential_id: 21dced0fd20347869b93710d2b98aae0
      application_credential_secret: s3cret
    regions:
      - name: RegionOne
    verify: false
  vendor:
    profile: vexxhost
  token:
    auth_type: token
    auth:
      auth_url: https://keystone.example.org/v3
`

const secureYAML = `
clouds:
  prod:
    auth:
      password: from-secure-yaml
`

func TestResolveCredentials(t *testing.T) {
	dir := t.TempDir()
	clouds := filepath.Join(dir, "clouds.yaml")
	if err := os.WriteFile(clouds, []byte(cloudsYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secure.yaml"), []byte(secureYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	openrc := map[string]string{
		"OS_AUTH_URL": "http://10.0.0.1/identity", "OS_USERNAME": "admin", "OS_PASSWORD": "pw",
		"OS_PROJECT_NAME": "admin", "OS_USER_DOMAIN_NAME": "Default", "OS_PROJECT_DOMAIN_ID": "default",
		"OS_REGION_NAME": "RegionOne", "OS_CACERT": "/ca.pem", "OS_INSECURE": "true", "OS_INTERFACE": "internalURL",
	}
	withEnv := func(env map[string]string) func(string) string {
		return func(k string) string { return env[k] }
	}
	for _, tc := range []struct {
		name string
		cfg  Config
		env  map[string]string
		want credentials
		err  string
	}{
		{
			name: "clouds.yaml, secure.yaml merged, block overlay",
			cfg:  Config{Cloud: "prod", ProjectName: "dr2"},
			env:  map[string]string{"OS_CLIENT_CONFIG_FILE": clouds, "OS_CLIENT_SECURE_FILE": filepath.Join(dir, "secure.yaml")},
			want: credentials{AuthURL: "https://keystone.example.org:5000/v3", Username: "ops", Password: "from-secure-yaml", ProjectName: "dr2",
				UserDomainName: "Ops", ProjectDomainID: "default", Region: "RegionTwo", Interface: "internal", CAFile: "/etc/ssl/prod.pem"},
		},
		{
			name: "OS_CLOUD, application credential, regions list, verify false",
			env:  map[string]string{"OS_CLOUD": "appcred", "OS_CLIENT_CONFIG_FILE": clouds},
			want: credentials{AuthURL: "https://keystone.example.org/v3", ApplicationCredentialID: "21dced0fd20347869b93710d2b98aae0",
				ApplicationCredentialSecret: "s3cret", Region: "RegionOne", Insecure: true},
		},
		{
			name: "the block's cloud wins over OS_CLOUD",
			cfg:  Config{Cloud: "appcred"},
			env:  map[string]string{"OS_CLOUD": "prod", "OS_CLIENT_CONFIG_FILE": clouds},
			want: credentials{AuthURL: "https://keystone.example.org/v3", ApplicationCredentialID: "21dced0fd20347869b93710d2b98aae0",
				ApplicationCredentialSecret: "s3cret", Region: "RegionOne", Insecure: true},
		},
		{
			name: "openrc environment",
			env:  openrc,
			want: credentials{AuthURL: "http://10.0.0.1/identity", Username: "admin", Password: "pw", ProjectName: "admin",
				UserDomainName: "Default", ProjectDomainID: "default", Region: "RegionOne", Interface: "internal", CAFile: "/ca.pem", Insecure: true},
		},
		{
			name: "explicit attributes ignore the environment",
			cfg:  Config{AuthURL: "http://sim/v3", Username: "admin", Password: "admin", ProjectName: "admin", Insecure: ptr(false)},
			env:  openrc,
			want: credentials{AuthURL: "http://sim/v3", Username: "admin", Password: "admin", ProjectName: "admin"},
		},
		{name: "nothing", env: map[string]string{}, err: "no credentials"},
		{name: "unknown cloud", cfg: Config{Cloud: "nope"}, env: map[string]string{"OS_CLIENT_CONFIG_FILE": clouds}, err: `cloud "nope" is not in ` + clouds + " (it has appcred, prod, token, vendor)"},
		{name: "vendor profile", cfg: Config{Cloud: "vendor"}, env: map[string]string{"OS_CLIENT_CONFIG_FILE": clouds}, err: "vendor profiles are not supported"},
		{name: "token auth", cfg: Config{Cloud: "token"}, env: map[string]string{"OS_CLIENT_CONFIG_FILE": clouds}, err: `auth_type "token" is not supported`},
		{name: "no clouds.yaml", cfg: Config{Cloud: "prod"}, env: map[string]string{"HOME": dir + "/nohome"}, err: "no clouds.yaml found"},
		{name: "no user", cfg: Config{AuthURL: "http://sim/v3"}, env: map[string]string{}, err: "neither a username nor an application credential"},
		{name: "bad interface", cfg: Config{AuthURL: "http://sim/v3", Username: "a", Interface: "private"}, env: map[string]string{}, err: `interface "private"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Chdir(dir + "/..") // no clouds.yaml in the working directory
			got, err := resolveCredentials(tc.cfg, withEnv(tc.env))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got.source = ""
			if *got != tc.want {
				t.Errorf("got  %+v\nwant %+v", *got, tc.want)
			}
		})
	}
}

func TestAuthOptions(t *testing.T) {
	for _, tc := range []struct {
		name string
		c    credentials
		want gophercloud.AuthOptions
	}{
		{
			name: "password, defaults to the Default domain",
			c:    credentials{AuthURL: "u", Username: "admin", Password: "p", ProjectName: "admin"},
			want: gophercloud.AuthOptions{IdentityEndpoint: "u", Username: "admin", Password: "p", DomainName: "Default", AllowReauth: true,
				Scope: &gophercloud.AuthScope{ProjectName: "admin", DomainName: "Default"}},
		},
		{
			name: "domain ids, project id wins",
			c:    credentials{AuthURL: "u", Username: "ops", Password: "p", UserDomainID: "d1", ProjectID: "p1", ProjectName: "ignored", ProjectDomainName: "x"},
			want: gophercloud.AuthOptions{IdentityEndpoint: "u", Username: "ops", Password: "p", DomainID: "d1", AllowReauth: true,
				Scope: &gophercloud.AuthScope{ProjectID: "p1"}},
		},
		{
			name: "domain_name for both",
			c:    credentials{AuthURL: "u", Username: "ops", Password: "p", ProjectName: "dr", DomainName: "Ops"},
			want: gophercloud.AuthOptions{IdentityEndpoint: "u", Username: "ops", Password: "p", DomainName: "Ops", AllowReauth: true,
				Scope: &gophercloud.AuthScope{ProjectName: "dr", DomainName: "Ops"}},
		},
		{
			name: "application credential carries its scope",
			c:    credentials{AuthURL: "u", ApplicationCredentialID: "ac", ApplicationCredentialSecret: "s", ProjectName: "ignored"},
			want: gophercloud.AuthOptions{IdentityEndpoint: "u", ApplicationCredentialID: "ac", ApplicationCredentialSecret: "s", AllowReauth: true},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := authOptions(&tc.c)
			if !jsonEqual(got, tc.want) || !jsonEqual(got.Scope, tc.want.Scope) || got.DomainID != tc.want.DomainID || got.IdentityEndpoint != tc.want.IdentityEndpoint || got.ApplicationCredentialID != tc.want.ApplicationCredentialID {
				t.Errorf("got  %+v %+v\nwant %+v %+v", got, got.Scope, tc.want, tc.want.Scope)
			}
		})
	}
}

func TestDiscoverNova(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		min, max   string
	}{
		{"version document", fixture(t, "compute", "version.json"), 200, "2.1", "2.87"},
		{"unversioned endpoint's list", fixture(t, "compute", "versions.json"), 300, "2.1", "2.87"},
		{"v2.0 without microversions", `{"version": {"id": "v2.0", "status": "SUPPORTED", "version": "", "min_version": ""}}`, 200, "2.1", "2.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := httptestServerAnswering(t, tc.status, tc.body)
			sc := &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{}, Endpoint: url + "/"}
			minV, maxV, err := discoverNova(t.Context(), sc)
			if err != nil || minV.String() != tc.min || maxV.String() != tc.max {
				t.Errorf("got %s..%s, %v; want %s..%s", minV, maxV, err, tc.min, tc.max)
			}
		})
	}
	url := httptestServerAnswering(t, 503, "")
	sc := &gophercloud.ServiceClient{ProviderClient: &gophercloud.ProviderClient{}, Endpoint: url + "/v2.1/"}
	if _, _, err := discoverNova(t.Context(), sc); err == nil || !isRetryable(err) {
		t.Errorf("a 503 on discovery: %v (retryable %t)", err, isRetryable(err))
	}
}

// TestCloudsYAMLEndToEnd configures the provider with cloud = "drill" and
// OS_CLOUD unset, clouds.yaml found through OS_CLIENT_CONFIG_FILE, and
// reaches the fake cloud with it.
func TestCloudsYAMLEndToEnd(t *testing.T) {
	fc := newFakeCloud(t)
	fc.reply("GET", derpPath, 200, fixture(t, "compute", "server_get.json"))
	file := filepath.Join(t.TempDir(), "clouds.yaml")
	yaml := "clouds:\n  drill:\n    auth:\n      auth_url: " + fc.srv.URL + "/identity\n      username: ops\n      password: pw\n      project_id: " + projectID + "\n      user_domain_id: default\n    region_name: RegionOne\n"
	if err := os.WriteFile(file, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	p := newProvider(env{"OS_CLIENT_CONFIG_FILE": file}.get)
	if err := p.Configure(t.Context(), cty.ObjectVal(map[string]cty.Value{"cloud": str("drill")})); err != nil {
		t.Fatal(err)
	}
	mustApply(t, p, "server_get", map[string]cty.Value{"server": str(derpID)})
	assertJSON(t, "token request", fc.requests("POST", "/identity/v3/auth/tokens")[0].Body, `{"auth": {
		"identity": {"methods": ["password"], "password": {"user": {"name": "ops", "password": "pw", "domain": {"id": "default"}}}},
		"scope": {"project": {"id": "`+projectID+`"}}}}`)

	// A missing cloud points at the attribute.
	p = newProvider(env{"OS_CLIENT_CONFIG_FILE": file}.get)
	err := p.Configure(t.Context(), cty.ObjectVal(map[string]cty.Value{"cloud": str("prod")}))
	if pe := providerErr(t, err); !pe.Attribute.Equals(cty.GetAttrPath("cloud")) || !strings.Contains(err.Error(), `cloud "prod" is not in`) {
		t.Errorf("missing cloud: %v", err)
	}
}

func TestTLS(t *testing.T) {
	fc := newFakeCloudTLS(t)
	fc.reply("GET", derpPath, 200, fixture(t, "compute", "server_get.json"))
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: fc.srv.Certificate().Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		extra map[string]cty.Value
		err   string
	}{
		{"system roots refuse the test CA", nil, "certificate"},
		{"ca_file", map[string]cty.Value{"ca_file": str(ca)}, ""},
		{"insecure", map[string]cty.Value{"insecure": cty.True}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := apply(t, fc.provider(tc.extra), "server_get", map[string]cty.Value{"server": str(derpID)})
			switch {
			case tc.err == "" && c.err != nil:
				t.Fatal(c.err)
			case tc.err != "" && (c.err == nil || !strings.Contains(c.err.Error(), tc.err)):
				t.Fatalf("error %v, want %q", c.err, tc.err)
			case tc.err != "" && providerErr(t, c.err).Retryable:
				t.Errorf("a refused certificate is retryable: %v", c.err)
			}
		})
	}
	p := newProvider(env{}.get)
	err := p.Configure(t.Context(), cty.ObjectVal(map[string]cty.Value{"auth_url": str(fc.srv.URL), "username": str("u"), "ca_file": str(filepath.Join(t.TempDir(), "none.pem"))}))
	if pe := providerErr(t, err); !pe.Attribute.Equals(cty.GetAttrPath("ca_file")) || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing ca_file: %v", err)
	}
}
