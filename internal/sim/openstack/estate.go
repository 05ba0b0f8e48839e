package openstack

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Estate is the initial state of a simulated cloud: what `runbook sim
// openstack --estate FILE` reads (JSON, unknown fields rejected). Every
// section is optional: an omitted (null) section takes its default, an empty
// list means "none". docs/simulators.md documents the format with an
// example.
//
// Resources refer to each other by name or id (a server's flavor, image,
// networks and ports; a port's network; a floating IP's port). Ids that are
// not given are generated from the simulator's seed, so the same estate gives
// the same ids every time.
//
// Timestamps are RFC 3339 ("2014-09-25T13:04:41Z") or an offset from the
// moment the simulator starts ("-2h").
type Estate struct {
	// Region of every catalog endpoint (default "RegionOne").
	Region string `json:"region,omitempty"`
	// Nova tunes the compute API.
	Nova *EstateNova `json:"nova,omitempty"`

	// Projects default to one project "admin" in domain Default.
	Projects []EstateProject `json:"projects"`
	// Users default to admin/admin with the admin role on project admin.
	Users []EstateUser `json:"users"`
	// RoleIDs fixes the ids of roles by name (admin, member, reader, ...).
	RoleIDs map[string]string `json:"role_ids,omitempty"`
	// ApplicationCredentials for application_credential authentication.
	ApplicationCredentials []EstateAppCred `json:"application_credentials,omitempty"`

	// Hosts are compute nodes, each with its nova-compute service. Default:
	// compute-1..3, 32 vCPU and 128 GiB each.
	Hosts []EstateHost `json:"hosts"`
	// Services are the other Nova services (default nova-scheduler and
	// nova-conductor on host "controller").
	Services []EstateService `json:"services"`
	// Flavors default to m1.small (id 2) .. m1.xlarge (id 5).
	Flavors []EstateFlavor `json:"flavors"`
	// Images default to "cirros".
	Images []EstateImage `json:"images"`
	// Networks default to "private" (10.0.0.0/24) and the external network
	// "public" (172.24.4.0/24) that floating IPs come from.
	Networks    []EstateNetwork    `json:"networks"`
	Ports       []EstatePort       `json:"ports,omitempty"`
	FloatingIPs []EstateFloatingIP `json:"floating_ips,omitempty"`
	Servers     []EstateServer     `json:"servers,omitempty"`
}

// EstateNova tunes the compute API.
type EstateNova struct {
	// MaxMicroversion is the highest microversion served (default 2.95;
	// Options.MaxMicroversion wins).
	MaxMicroversion string `json:"max_microversion,omitempty"`
	// EnableInstancePassword is Nova's [api] enable_instance_password
	// (default true): adminPass in create, rebuild and pre-2.14 evacuate
	// answers.
	EnableInstancePassword *bool `json:"enable_instance_password,omitempty"`
}

// EstateProject is a Keystone project.
type EstateProject struct {
	ID          string `json:"id,omitempty"`
	Name        string `json:"name"`
	Domain      string `json:"domain,omitempty"` // domain name, default "Default"
	Description string `json:"description,omitempty"`
}

// EstateUser is a Keystone user. Roles maps a project name (or id) to the
// user's role there ("admin", "member", "reader"); DefaultProject scopes a
// token requested without a scope.
type EstateUser struct {
	ID             string            `json:"id,omitempty"`
	Name           string            `json:"name"`
	Password       string            `json:"password"`
	Domain         string            `json:"domain,omitempty"`
	DefaultProject string            `json:"default_project,omitempty"`
	Roles          map[string]string `json:"roles,omitempty"`
	Enabled        *bool             `json:"enabled,omitempty"`
}

// EstateAppCred is an application credential of User on Project.
type EstateAppCred struct {
	ID      string   `json:"id,omitempty"`
	Name    string   `json:"name"`
	Secret  string   `json:"secret"`
	User    string   `json:"user"`
	Project string   `json:"project,omitempty"` // default: the user's default project
	Roles   []string `json:"roles,omitempty"`   // default: the user's role in the project
	// ExpiresAt, when set, ends the credential.
	ExpiresAt string `json:"expires_at,omitempty"`
}

// EstateHost is a compute node and its nova-compute service.
type EstateHost struct {
	Name     string `json:"name"`
	VCPUs    int    `json:"vcpus,omitempty"`     // default 32
	MemoryMB int    `json:"memory_mb,omitempty"` // default 131072
	LocalGB  int    `json:"local_gb,omitempty"`  // default 4096
	// ReservedHostMemoryMB is Nova's reserved_host_memory_mb (default 512,
	// Nova's default): counted as used, never schedulable.
	ReservedHostMemoryMB *int `json:"reserved_host_memory_mb,omitempty"`
	ReservedHostCPUs     int  `json:"reserved_host_cpus,omitempty"`
	// Allocation ratios, default Nova's initial ratios: CPU 4.0, RAM 1.0,
	// disk 1.0.
	CPUAllocationRatio  float64 `json:"cpu_allocation_ratio,omitempty"`
	RAMAllocationRatio  float64 `json:"ram_allocation_ratio,omitempty"`
	DiskAllocationRatio float64 `json:"disk_allocation_ratio,omitempty"`
	Zone                string  `json:"zone,omitempty"` // availability zone, default "nova"
	// Status is the service's "enabled" (default) or "disabled".
	Status         string `json:"status,omitempty"`
	DisabledReason string `json:"disabled_reason,omitempty"`
	ForcedDown     bool   `json:"forced_down,omitempty"`
	// State is the service heartbeat: "up" (default) or "down" (the host
	// has failed; POST /_sim/faults host_states changes it later).
	State              string          `json:"state,omitempty"`
	HostIP             string          `json:"host_ip,omitempty"`
	HypervisorHostname string          `json:"hypervisor_hostname,omitempty"` // default Name
	HypervisorType     string          `json:"hypervisor_type,omitempty"`     // default "QEMU"
	HypervisorVersion  int             `json:"hypervisor_version,omitempty"`  // default 8002000
	CPUInfo            json.RawMessage `json:"cpu_info,omitempty"`
	// Ids: integers are what microversions below 2.53 show, UUIDs from 2.53.
	ServiceID      int    `json:"service_id,omitempty"`
	ServiceUUID    string `json:"service_uuid,omitempty"`
	HypervisorID   int    `json:"hypervisor_id,omitempty"`
	HypervisorUUID string `json:"hypervisor_uuid,omitempty"`
	UpdatedAt      string `json:"updated_at,omitempty"`
}

// EstateService is a Nova service other than nova-compute.
type EstateService struct {
	Binary         string `json:"binary"`
	Host           string `json:"host"`
	Zone           string `json:"zone,omitempty"`   // default "internal"
	Status         string `json:"status,omitempty"` // enabled | disabled
	DisabledReason string `json:"disabled_reason,omitempty"`
	State          string `json:"state,omitempty"` // up | down
	ForcedDown     bool   `json:"forced_down,omitempty"`
	ID             int    `json:"id,omitempty"`
	UUID           string `json:"uuid,omitempty"`
	UpdatedAt      string `json:"updated_at,omitempty"`
}

// EstateFlavor is a Nova flavor.
type EstateFlavor struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	VCPUs       int               `json:"vcpus"`
	RAM         int               `json:"ram"` // MiB
	Disk        int               `json:"disk"`
	Ephemeral   int               `json:"ephemeral,omitempty"`
	Swap        int               `json:"swap,omitempty"`
	IsPublic    *bool             `json:"is_public,omitempty"`
	Description string            `json:"description,omitempty"`
	ExtraSpecs  map[string]string `json:"extra_specs,omitempty"`
	RxTxFactor  float64           `json:"rxtx_factor,omitempty"`
}

// EstateImage is a Glance image.
type EstateImage struct {
	ID              string `json:"id,omitempty"`
	Name            string `json:"name"`
	Status          string `json:"status,omitempty"` // default "active"
	MinDisk         int    `json:"min_disk,omitempty"`
	MinRAM          int    `json:"min_ram,omitempty"`
	Size            int64  `json:"size,omitempty"`
	DiskFormat      string `json:"disk_format,omitempty"`
	ContainerFormat string `json:"container_format,omitempty"`
	Visibility      string `json:"visibility,omitempty"`
	CreatedAt       string `json:"created_at,omitempty"`
}

// EstateNetwork is a Neutron network with its subnets (CIDR and SubnetID are
// a shorthand for a single subnet).
type EstateNetwork struct {
	ID                  string         `json:"id,omitempty"`
	Name                string         `json:"name"`
	Project             string         `json:"project,omitempty"`
	External            bool           `json:"external,omitempty"`
	Shared              bool           `json:"shared,omitempty"`
	MTU                 int            `json:"mtu,omitempty"`
	PortSecurityEnabled *bool          `json:"port_security_enabled,omitempty"`
	CIDR                string         `json:"cidr,omitempty"`
	SubnetID            string         `json:"subnet_id,omitempty"`
	Subnets             []EstateSubnet `json:"subnets,omitempty"`
	// RouterID is the router floating IPs of an external network go
	// through once associated (generated when empty).
	RouterID  string `json:"router_id,omitempty"`
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
}

// EstateSubnet is a Neutron subnet.
type EstateSubnet struct {
	ID        string `json:"id,omitempty"`
	Name      string `json:"name,omitempty"`
	CIDR      string `json:"cidr"`
	GatewayIP string `json:"gateway_ip,omitempty"`
}

// EstateFixedIP is one fixed IP of a port.
type EstateFixedIP struct {
	Subnet    string `json:"subnet,omitempty"` // id or name; default the network's first subnet
	IPAddress string `json:"ip_address,omitempty"`
}

// EstatePort is a Neutron port. DeviceID names a server (id or name) to bind
// the port to it.
type EstatePort struct {
	ID             string          `json:"id,omitempty"`
	Name           string          `json:"name,omitempty"`
	Network        string          `json:"network"`
	FixedIP        string          `json:"fixed_ip,omitempty"`
	FixedIPs       []EstateFixedIP `json:"fixed_ips,omitempty"`
	MACAddress     string          `json:"mac_address,omitempty"`
	DeviceID       string          `json:"device_id,omitempty"`
	DeviceOwner    string          `json:"device_owner,omitempty"`
	Project        string          `json:"project,omitempty"`
	Status         string          `json:"status,omitempty"`
	AdminStateUp   *bool           `json:"admin_state_up,omitempty"`
	SecurityGroups []string        `json:"security_groups,omitempty"`
	Description    string          `json:"description,omitempty"`
	RevisionNumber int             `json:"revision_number,omitempty"`
	CreatedAt      string          `json:"created_at,omitempty"`
	UpdatedAt      string          `json:"updated_at,omitempty"`
}

// EstateFloatingIP is a Neutron floating IP, associated with Port when set.
type EstateFloatingIP struct {
	ID             string `json:"id,omitempty"`
	Address        string `json:"floating_ip_address,omitempty"`
	Network        string `json:"network,omitempty"` // default: the first external network
	Port           string `json:"port,omitempty"`
	FixedIP        string `json:"fixed_ip_address,omitempty"`
	Project        string `json:"project,omitempty"`
	Status         string `json:"status,omitempty"`
	RouterID       string `json:"router_id,omitempty"`
	Description    string `json:"description,omitempty"`
	RevisionNumber int    `json:"revision_number,omitempty"`
	CreatedAt      string `json:"created_at,omitempty"`
	UpdatedAt      string `json:"updated_at,omitempty"`
}

// EstateServer is a Nova server. Count > 1 makes Count servers named
// Name-1 .. Name-Count (for benchmarks); ids are then always generated.
type EstateServer struct {
	ID    string `json:"id,omitempty"`
	Name  string `json:"name"`
	Count int    `json:"count,omitempty"`
	// Flavor and Image by id or name (default: the first flavor and image).
	Flavor string `json:"flavor,omitempty"`
	Image  string `json:"image,omitempty"`
	// Host is the compute host; empty means the scheduler picks one.
	Host string `json:"host,omitempty"`
	// Status is ACTIVE (default), SHUTOFF or ERROR.
	Status string `json:"status,omitempty"`
	// Networks (id or name) get a new port each; Ports (id or name) are
	// existing ports bound to the server.
	Networks         []string          `json:"networks,omitempty"`
	Ports            []string          `json:"ports,omitempty"`
	KeyName          string            `json:"key_name,omitempty"`
	Metadata         map[string]string `json:"metadata,omitempty"`
	UserData         string            `json:"user_data,omitempty"`
	AvailabilityZone string            `json:"availability_zone,omitempty"`
	Project          string            `json:"project,omitempty"`
	User             string            `json:"user,omitempty"`
	InstanceName     string            `json:"instance_name,omitempty"`
	AccessIPv4       string            `json:"access_ipv4,omitempty"`
	AccessIPv6       string            `json:"access_ipv6,omitempty"`
	Locked           bool              `json:"locked,omitempty"`
	Description      string            `json:"description,omitempty"`
	// Fault is the message of an ERROR server's fault.
	Fault     string `json:"fault,omitempty"`
	CreatedAt string `json:"created_at,omitempty"`
	UpdatedAt string `json:"updated_at,omitempty"`
	// LaunchedAt defaults to CreatedAt.
	LaunchedAt string `json:"launched_at,omitempty"`
	// EvacuateTime overrides Timing.Evacuate for this server ("2s").
	EvacuateTime string `json:"evacuate_time,omitempty"`
}

// DefaultEstate is the cloud `runbook sim openstack` serves without
// --estate: user admin, password admin, project admin, domain Default; three
// hypervisors compute-1..3 (32 vCPU, 128 GiB each); flavors m1.small ..
// m1.xlarge; image cirros; networks private and public.
func DefaultEstate() *Estate { return &Estate{} }

func defaultProjects() []EstateProject {
	return []EstateProject{{Name: "admin", Description: "Bootstrap project for initializing the cloud."}}
}

func defaultUsers() []EstateUser {
	return []EstateUser{{Name: "admin", Password: "admin", DefaultProject: "admin", Roles: map[string]string{"admin": "admin"}}}
}

func defaultHosts() []EstateHost {
	return []EstateHost{
		{Name: "compute-1", HostIP: "192.168.100.11"},
		{Name: "compute-2", HostIP: "192.168.100.12"},
		{Name: "compute-3", HostIP: "192.168.100.13"},
	}
}

func defaultServices() []EstateService {
	return []EstateService{
		{Binary: "nova-scheduler", Host: "controller"},
		{Binary: "nova-conductor", Host: "controller"},
	}
}

// Devstack's flavor ids and sizes.
func defaultFlavors() []EstateFlavor {
	return []EstateFlavor{
		{ID: "2", Name: "m1.small", VCPUs: 1, RAM: 2048, Disk: 20},
		{ID: "3", Name: "m1.medium", VCPUs: 2, RAM: 4096, Disk: 40},
		{ID: "4", Name: "m1.large", VCPUs: 4, RAM: 8192, Disk: 80},
		{ID: "5", Name: "m1.xlarge", VCPUs: 8, RAM: 16384, Disk: 160},
	}
}

func defaultImages() []EstateImage {
	return []EstateImage{{Name: "cirros", Size: 21430272, DiskFormat: "qcow2", ContainerFormat: "bare"}}
}

func defaultNetworks() []EstateNetwork {
	return []EstateNetwork{
		{Name: "private", CIDR: "10.0.0.0/24"},
		{Name: "public", External: true, CIDR: "172.24.4.0/24"},
	}
}

// LoadEstate reads and checks an estate file.
func LoadEstate(path string) (*Estate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return ParseEstate(b)
}

// ParseEstate decodes an estate from JSON, rejecting unknown fields, and
// checks it.
func ParseEstate(b []byte) (*Estate, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var e Estate
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("estate: %w", err)
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	return &e, nil
}

// withDefaults returns a copy whose omitted sections hold their defaults.
func (e *Estate) withDefaults() *Estate {
	c := Estate{}
	if e != nil {
		c = *e
	}
	if c.Region == "" {
		c.Region = "RegionOne"
	}
	if c.Projects == nil {
		c.Projects = defaultProjects()
	}
	if c.Users == nil {
		c.Users = defaultUsers()
	}
	if c.Hosts == nil {
		c.Hosts = defaultHosts()
	}
	if c.Services == nil {
		c.Services = defaultServices()
	}
	if c.Flavors == nil {
		c.Flavors = defaultFlavors()
	}
	if c.Images == nil {
		c.Images = defaultImages()
	}
	if c.Networks == nil {
		c.Networks = defaultNetworks()
	}
	return &c
}

// Validate reports the first thing in the estate the simulator cannot use.
// Cross-references (a server's flavor, a port's network) are checked too.
func (e *Estate) Validate() error {
	if e == nil {
		return nil
	}
	_, err := buildWorld(e, time.Unix(0, 0), 1)
	return err
}

// names is a registry of ids and names for cross-reference checks.
type names map[string]string // id or name -> id

func (n names) add(id, name string) {
	n[id] = id
	if name != "" {
		if _, taken := n[name]; !taken {
			n[name] = id
		}
	}
}

func checkEstateTime(v, what string) error {
	if v == "" {
		return nil
	}
	if _, err := parseEstateTime(v, time.Unix(0, 0)); err != nil {
		return fmt.Errorf("estate: %s: %w", what, err)
	}
	return nil
}

// parseEstateTime accepts RFC 3339 (with or without fractional seconds, with
// or without a zone: Nova and Neutron print times without one) or a signed Go
// duration relative to base.
func parseEstateTime(s string, base time.Time) (time.Time, error) {
	if strings.HasPrefix(s, "+") || strings.HasPrefix(s, "-") {
		if d, err := time.ParseDuration(s); err == nil {
			return base.Add(d), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor an offset like \"-2h\"", s)
}

func validIP(s string) bool {
	_, err := netip.ParseAddr(s)
	return err == nil
}
