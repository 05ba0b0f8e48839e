package openstack

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// credentials is everything needed to reach a cloud, whichever source it
// came from: a clouds.yaml entry, OS_* variables, or the provider block.
type credentials struct {
	source string // "clouds.yaml cloud \"prod\"", "OS_* environment", "provider block"

	AuthURL                     string
	Username                    string
	UserID                      string
	Password                    string
	ProjectName                 string
	ProjectID                   string
	UserDomainName              string
	UserDomainID                string
	ProjectDomainName           string
	ProjectDomainID             string
	DomainName                  string
	DomainID                    string
	ApplicationCredentialID     string
	ApplicationCredentialName   string
	ApplicationCredentialSecret string

	Region    string
	Interface string
	CAFile    string
	CertFile  string
	KeyFile   string
	Insecure  bool
}

// resolveCredentials picks the source of the credentials and overlays the
// provider block's attributes on it:
//
//  1. cloud = "NAME" in the block: that entry of clouds.yaml;
//  2. else auth_url in the block: the block alone (no environment);
//  3. else OS_CLOUD: that entry of clouds.yaml;
//  4. else OS_AUTH_URL: the OS_* environment (an openrc file).
//
// Every attribute set in the block then wins over what the source said, so
// a clouds.yaml entry without its password can take it from a variable.
// getenv is os.Getenv except in tests.
func resolveCredentials(cfg Config, getenv func(string) string) (*credentials, error) {
	var base *credentials
	var err error
	switch {
	case cfg.Cloud != "":
		base, err = loadCloud(cfg.Cloud, getenv)
		if err != nil {
			return nil, attrErr("cloud", err)
		}
	case cfg.AuthURL != "":
		base = &credentials{source: "the provider block"}
	case getenv("OS_CLOUD") != "":
		base, err = loadCloud(getenv("OS_CLOUD"), getenv)
		if err != nil {
			return nil, fmt.Errorf("OS_CLOUD: %w", err)
		}
	case getenv("OS_AUTH_URL") != "":
		base = credentialsFromEnv(getenv)
	default:
		return nil, attrErr("cloud", errors.New("no credentials: set cloud (a clouds.yaml entry) or auth_url in the provider block, or OS_CLOUD or OS_AUTH_URL in the environment"))
	}
	overlay(base, cfg)
	if base.AuthURL == "" {
		return nil, attrErr("auth_url", fmt.Errorf("%s has no auth_url", base.source))
	}
	if base.ApplicationCredentialID == "" && base.ApplicationCredentialName == "" {
		if base.Username == "" && base.UserID == "" {
			return nil, attrErr("username", fmt.Errorf("%s has neither a username nor an application credential", base.source))
		}
	} else if base.ApplicationCredentialSecret == "" {
		return nil, attrErr("application_credential_secret", fmt.Errorf("%s has an application credential without its secret", base.source))
	}
	switch base.Interface {
	case "", "public", "internal", "admin":
	case "publicURL", "internalURL", "adminURL":
		base.Interface = strings.TrimSuffix(base.Interface, "URL")
	default:
		return nil, attrErr("interface", fmt.Errorf("interface %q is not public, internal or admin", base.Interface))
	}
	return base, nil
}

// overlay writes the block's set attributes over c.
func overlay(c *credentials, cfg Config) {
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&c.AuthURL, cfg.AuthURL)
	set(&c.Username, cfg.Username)
	set(&c.Password, cfg.Password)
	set(&c.ProjectName, cfg.ProjectName)
	set(&c.ProjectID, cfg.ProjectID)
	set(&c.UserDomainName, cfg.UserDomainName)
	set(&c.UserDomainID, cfg.UserDomainID)
	set(&c.ProjectDomainName, cfg.ProjectDomainName)
	set(&c.ProjectDomainID, cfg.ProjectDomainID)
	set(&c.ApplicationCredentialID, cfg.ApplicationCredentialID)
	set(&c.ApplicationCredentialSecret, cfg.ApplicationCredentialSecret)
	set(&c.Region, cfg.Region)
	set(&c.Interface, cfg.Interface)
	set(&c.CAFile, cfg.CAFile)
	if cfg.Insecure != nil {
		c.Insecure = *cfg.Insecure
	}
}

// credentialsFromEnv reads the variables an openrc file exports (the names
// python-openstackclient and gophercloud's AuthOptionsFromEnv read).
func credentialsFromEnv(getenv func(string) string) *credentials {
	first := func(names ...string) string {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	c := &credentials{
		source:                      "the OS_* environment",
		AuthURL:                     getenv("OS_AUTH_URL"),
		Username:                    getenv("OS_USERNAME"),
		UserID:                      getenv("OS_USERID"),
		Password:                    getenv("OS_PASSWORD"),
		ProjectName:                 first("OS_PROJECT_NAME", "OS_TENANT_NAME"),
		ProjectID:                   first("OS_PROJECT_ID", "OS_TENANT_ID"),
		UserDomainName:              getenv("OS_USER_DOMAIN_NAME"),
		UserDomainID:                getenv("OS_USER_DOMAIN_ID"),
		ProjectDomainName:           getenv("OS_PROJECT_DOMAIN_NAME"),
		ProjectDomainID:             getenv("OS_PROJECT_DOMAIN_ID"),
		DomainName:                  getenv("OS_DOMAIN_NAME"),
		DomainID:                    getenv("OS_DOMAIN_ID"),
		ApplicationCredentialID:     getenv("OS_APPLICATION_CREDENTIAL_ID"),
		ApplicationCredentialName:   getenv("OS_APPLICATION_CREDENTIAL_NAME"),
		ApplicationCredentialSecret: getenv("OS_APPLICATION_CREDENTIAL_SECRET"),
		Region:                      getenv("OS_REGION_NAME"),
		Interface:                   first("OS_INTERFACE", "OS_ENDPOINT_TYPE"),
		CAFile:                      getenv("OS_CACERT"),
		CertFile:                    getenv("OS_CERT"),
		KeyFile:                     getenv("OS_KEY"),
	}
	if v, err := strconv.ParseBool(getenv("OS_INSECURE")); err == nil {
		c.Insecure = v
	}
	return c
}

// cloudsFile is the part of clouds.yaml (and secure.yaml) the provider
// reads; the format is openstacksdk's (docs.openstack.org/openstacksdk,
// "Configuring OpenStack SDK Applications").
type cloudsFile struct {
	Clouds map[string]cloudEntry `yaml:"clouds"`
}

type cloudEntry struct {
	Profile        string            `yaml:"profile"`
	AuthType       string            `yaml:"auth_type"`
	Auth           map[string]string `yaml:"auth"`
	RegionName     string            `yaml:"region_name"`
	Regions        []yaml.Node       `yaml:"regions"`
	Interface      string            `yaml:"interface"`
	EndpointType   string            `yaml:"endpoint_type"`
	CACert         string            `yaml:"cacert"`
	Cert           string            `yaml:"cert"`
	Key            string            `yaml:"key"`
	Verify         *bool             `yaml:"verify"`
	IdentityAPIVer any               `yaml:"identity_api_version"`
}

// cloudsPaths are where clouds.yaml is looked for, in openstacksdk's order:
// OS_CLIENT_CONFIG_FILE, the current directory, the user's config
// directory, /etc/openstack.
func cloudsPaths(getenv func(string) string, name string) []string {
	var paths []string
	if name == "clouds.yaml" {
		if f := getenv("OS_CLIENT_CONFIG_FILE"); f != "" {
			paths = append(paths, f)
		}
	} else if f := getenv("OS_CLIENT_SECURE_FILE"); f != "" {
		paths = append(paths, f)
	}
	paths = append(paths, name)
	home := getenv("HOME")
	if xdg := getenv("XDG_CONFIG_HOME"); xdg != "" {
		paths = append(paths, filepath.Join(xdg, "openstack", name))
	} else if home != "" {
		paths = append(paths, filepath.Join(home, ".config", "openstack", name))
	}
	return append(paths, filepath.Join("/etc/openstack", name))
}

// readClouds parses the first of paths that exists; "" when none does.
func readClouds(paths []string) (cloudsFile, string, error) {
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return cloudsFile{}, p, err
		}
		var f cloudsFile
		if err := yaml.Unmarshal(data, &f); err != nil {
			return cloudsFile{}, p, fmt.Errorf("%s: %w", p, err)
		}
		return f, p, nil
	}
	return cloudsFile{}, "", nil
}

// loadCloud reads the named cloud from clouds.yaml, with secure.yaml's
// entry of the same name merged over it (openstacksdk keeps passwords
// there).
func loadCloud(name string, getenv func(string) string) (*credentials, error) {
	clouds, path, err := readClouds(cloudsPaths(getenv, "clouds.yaml"))
	if err != nil {
		return nil, err
	}
	if path == "" {
		return nil, fmt.Errorf("cloud %q: no clouds.yaml found (looked in %s)", name, strings.Join(cloudsPaths(getenv, "clouds.yaml"), ", "))
	}
	entry, ok := clouds.Clouds[name]
	if !ok {
		return nil, fmt.Errorf("cloud %q is not in %s (it has %s)", name, path, strings.Join(sortedKeys(clouds.Clouds), ", "))
	}
	secure, _, err := readClouds(cloudsPaths(getenv, "secure.yaml"))
	if err != nil {
		return nil, err
	}
	if s, ok := secure.Clouds[name]; ok {
		entry = mergeEntry(entry, s)
	}
	if entry.Profile != "" && entry.Auth["auth_url"] == "" {
		return nil, fmt.Errorf("cloud %q in %s uses profile %q: vendor profiles are not supported, give auth.auth_url", name, path, entry.Profile)
	}
	switch entry.AuthType {
	case "", "password", "v3password", "v3applicationcredential", "applicationcredential":
	default:
		return nil, fmt.Errorf("cloud %q in %s: auth_type %q is not supported (password or v3applicationcredential)", name, path, entry.AuthType)
	}
	a := entry.Auth
	c := &credentials{
		source:                      fmt.Sprintf("cloud %q in %s", name, path),
		AuthURL:                     a["auth_url"],
		Username:                    a["username"],
		UserID:                      a["user_id"],
		Password:                    a["password"],
		ProjectName:                 firstNonEmpty(a["project_name"], a["tenant_name"]),
		ProjectID:                   firstNonEmpty(a["project_id"], a["tenant_id"]),
		UserDomainName:              a["user_domain_name"],
		UserDomainID:                a["user_domain_id"],
		ProjectDomainName:           a["project_domain_name"],
		ProjectDomainID:             a["project_domain_id"],
		DomainName:                  a["domain_name"],
		DomainID:                    a["domain_id"],
		ApplicationCredentialID:     a["application_credential_id"],
		ApplicationCredentialName:   a["application_credential_name"],
		ApplicationCredentialSecret: a["application_credential_secret"],
		Region:                      entry.RegionName,
		Interface:                   firstNonEmpty(entry.Interface, entry.EndpointType),
		CAFile:                      entry.CACert,
		CertFile:                    entry.Cert,
		KeyFile:                     entry.Key,
	}
	if c.Region == "" && len(entry.Regions) > 0 {
		// regions: [RegionOne] or [{name: RegionOne, values: {...}}]: the first.
		r := entry.Regions[0]
		switch r.Kind {
		case yaml.ScalarNode:
			c.Region = r.Value
		case yaml.MappingNode:
			var named struct {
				Name string `yaml:"name"`
			}
			if err := r.Decode(&named); err == nil {
				c.Region = named.Name
			}
		}
	}
	if entry.Verify != nil {
		c.Insecure = !*entry.Verify
	}
	return c, nil
}

// mergeEntry lays secure.yaml's entry over clouds.yaml's.
func mergeEntry(base, over cloudEntry) cloudEntry {
	auth := map[string]string{}
	for k, v := range base.Auth {
		auth[k] = v
	}
	for k, v := range over.Auth {
		auth[k] = v
	}
	base.Auth = auth
	pick := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	pick(&base.AuthType, over.AuthType)
	pick(&base.RegionName, over.RegionName)
	pick(&base.Interface, over.Interface)
	pick(&base.CACert, over.CACert)
	pick(&base.Cert, over.Cert)
	pick(&base.Key, over.Key)
	if over.Verify != nil {
		base.Verify = over.Verify
	}
	return base
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
