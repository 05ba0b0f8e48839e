// Package openstack is the runbook provider for OpenStack: Nova, Neutron
// and Keystone v3 through github.com/gophercloud/gophercloud/v2, and
// host_evacuate, the instance-HA recovery of a failed compute host (seed
// 003). cmd/runbook-provider-openstack serves it over go-plugin.
//
// It imports the provider SDK (plugins/sdk), gophercloud and yaml.v3;
// never the engine, the CLI, the plugin host or internal/ (its tests use
// internal/sim/openstack). TestImports keeps it so.
//
// # Configuration and authentication
//
// The provider "openstack" block takes cloud, or auth_url with username,
// password, project_name (or project_id), user_domain_name,
// project_domain_name (or the _id forms), or application_credential_id
// and application_credential_secret; and region, interface, ca_file,
// insecure, compute_microversion and poll_interval. Where credentials come
// from (resolveCredentials): the block's cloud (a clouds.yaml entry, with
// secure.yaml merged; openstacksdk's file locations and format, parsed
// with yaml.v3 because gophercloud/utils/v2 does not resolve through the
// module proxy); else the block's auth_url alone; else OS_CLOUD; else the
// OS_* variables of an openrc file. Attributes set in the block always
// win. A user or project name without a domain is in "Default".
// Configure resolves the credentials and reads ca_file; the cloud is
// reached on the first action, not in Configure: validate and plan stay
// offline. Keystone v3 is used directly (POST
// <auth_url>/v3/auth/tokens), tokens are renewed by gophercloud on a 401.
//
// # Microversions
//
// The compute API's version document gives the newest microversion
// (compute_microversion pins it instead). Calls ask for that, capped at
// 2.94: 2.95 leaves evacuated servers stopped. Hypervisor calls ask for
// 2.87 at most, the last with vcpus_used, memory_mb_used and running_vms.
// Bodies follow the microversion where Nova's schemas differ: the evacuate
// body (evacuateBody: onSharedStorage below 2.14 only, force from 2.29 to
// 2.67 only; gophercloud's EvacuateOpts always sends onSharedStorage),
// server create (networks "auto" from 2.37), services (by id from 2.53,
// the legacy PUT /os-services/{disable,enable,force-down} before; forced
// down from 2.11). Lifting forced_down sends {"forced_down": false},
// which gophercloud's UpdateOpts cannot (omitempty).
//
// # Errors
//
// A refused call reads "METHOD /path?query: STATUS Text: message", the
// message being Nova's, Neutron's or Keystone's from the body (HTTPError),
// after the action's name the SDK adds. It is retryable (sdk.Retryable,
// so a step's retry block retries it) when trying again may succeed: any
// 5xx, 429, a 409 that says the server is in a task_state (busy until the
// task ends), and calls that got no answer (refused, reset, dropped, timed
// out). Other 4xx are not (bad input, policy, not found, a 409 about a
// vm_state or a resource in use), nor cancellation. Once an action has
// changed something (created, rebuilt, evacuated), a later failure is
// returned not retryable, so that a retry does not repeat the change;
// waits ride out retryable read errors instead of failing.
//
// # Actions
//
//	action                     mutating idempotent Check
//	server_get                 no       yes        -     server (id or name), all_tenants -> id, name, status, host, access_ipv4, ... (ServerOut)
//	server_list                no       yes        -     host, status, name, all_tenants -> servers, ids, names, count
//	server_wait                no       yes        -     server, status (ACTIVE; DELETED = gone), timeout -> ServerOut; ERROR fails at once
//	server_stop, server_start  yes      yes        yes   server, wait, timeout -> ServerOut (SHUTOFF / ACTIVE); no-op when already so
//	server_reboot              yes      no         yes   server, type (SOFT|HARD), wait, timeout -> ServerOut
//	server_delete              yes      yes        yes   server, wait, timeout -> id, name, status, existed; gone already is success
//	server_create              yes      no         yes   name, image, flavor (ids or names), networks, ports, port, key_name, user_data,
//	                                                     metadata, availability_zone, security_groups, config_drive, wait, timeout -> ServerOut
//	server_rebuild             yes      no         yes   server, image, name, metadata, wait, timeout -> ServerOut
//	server_evacuate            yes      no         yes   server, host, on_shared_storage, force, wait, timeout -> id, name, status,
//	                                                     source_host, host, fault; waits until ACTIVE (or SHUTOFF) elsewhere, or ERROR
//	floating_ip_disassociate   yes      yes        yes   floating_ip (address or id) -> id, floating_ip, port_id, fixed_ip, status,
//	                                                     previous_port_id, previous_fixed_ip
//	floating_ip_associate      yes      yes        yes   floating_ip, port, fixed_ip, reassociate -> same
//	port_detach, port_attach   yes      yes        yes   server, port, timeout -> id, name, network_id, mac_address, fixed_ips, status,
//	                                                     device_id, device_owner (a pre-made port keeps its fixed IPs)
//	compute_service_list       no       yes        -     host, binary -> services, count
//	compute_service_disable    yes      yes        yes   host, binary, reason -> ServiceOut
//	compute_service_force_down yes      yes        yes   host, binary, forced_down (default true) -> ServiceOut
//	compute_service_enable     yes      yes        yes   host, binary, clear_forced_down (default true) -> ServiceOut
//	hypervisor_list            no       yes        -     host -> hypervisors (vcpus, vcpus_used, memory_mb, memory_mb_used,
//	                                                     free_ram_mb, running_vms, ...), count and totals
//	host_evacuate              yes      no         yes   see below
//
// Read-only actions also answer Plan (dry-run) with every output known;
// the mutating ones on one server resolve it and predict id and name.
// Check (on resume): the state in place (status, forced_down, port owner,
// floating IP's port) for the idempotent ones; for reboot, rebuild and
// evacuate an instance action recorded since the interrupted attempt
// began (less a minute of clock slack); for create a server of that name
// created since then.
//
// # host_evacuate
//
// Inputs: failed_host (required), recovery_method (auto, auto_priority,
// reserved_host, rh_priority), hosts (list of {name, reserved, priority,
// vcpus?, memory_mb?, disk_gb?}; unset: every compute host), parallelism
// (10), spread, cpu_/ram_/disk_allocation_ratio (1), ignore_disk,
// capacity_from (hypervisors or servers), ha_enabled_only, force_down
// (true), disabled_reason, on_shared_storage, vm_timeout (10m),
// fail_on_error. Outputs: status (finished, error, failed), total,
// succeeded, failed, vm_moves (list of {server, name, source_host,
// destination_host, status, started, ended, message}), targets (each
// host's free capacity before and after and what it took), message.
//
// It disables and forces down the failed host's nova-compute service,
// lists its instances (all projects), sizes them from their flavors, reads
// the free capacity of the segment's hosts (placement.go), places every
// instance by the method, enables a disabled reserved host that receives
// instances (as Masakari does), then evacuates at most parallelism at a
// time (runParallel), each to its planned host, and waits until it runs
// there. An instance that cannot be placed or evacuated is in vm_moves as
// failed with its reason, never dropped. Every move ends with one log line
// (a row of the VM moves table) and a progress count (instances); the
// recovery's status new, running and its end are logged. The step
// succeeds with status error or failed unless fail_on_error.
package openstack
