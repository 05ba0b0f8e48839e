// Package openstack simulates an OpenStack cloud in memory, as far as the
// shipped DR runbooks need it: Keystone v3 (password, token and
// application-credential authentication, the service catalog, token
// validation on every call), Nova v2.1 with microversion negotiation
// (servers, server actions including evacuate, os-interface, os-services,
// os-hypervisors, os-migrations, os-instance-actions, flavors, the image
// proxy, availability zones), Neutron v2.0 (networks, subnets, ports,
// floating IPs), and minimal Glance v2 and Placement. Work is asynchronous
// on an injectable clock; compute hosts have capacity, fail and come back;
// control endpoints under /_sim inject faults, list the requests received
// and reset the estate. docs/simulators.md documents the estate format and
// the control endpoints.
//
// It owns nothing but the simulator: it imports no engine, DSL or plugin
// package, and nothing but tests, the CLI's `runbook sim openstack` and
// drills import it.
//
// # What was followed
//
// The summary in /work/shared/reference/apis.md section 2, checked against
// the projects' own code and references (public repositories; paths as in
// those repositories):
//
// openstack/nova:
//   - nova/api/openstack/wsgi.py: the fault body {"<name>": {"code",
//     "message"}} and Fault._fault_names (badRequest, forbidden,
//     itemNotFound, conflictingRequest, ..., computeFault otherwise);
//     "Malformed request body"; "There is no such action: %s"; the
//     microversion headers and the 406 "Version %s is not supported by the
//     API. Minimum is %s and maximum is %s." (InvalidGlobalAPIVersion).
//   - nova/api/validation/validators.py: "Invalid input for field/attribute
//     %(path)s. Value: %(value)s. %(message)s".
//   - nova/api/openstack/compute/evacuate.py and schemas/evacuate.py: the
//     per-microversion bodies (onSharedStorage required below 2.14 and
//     gone from 2.14, force from 2.29, additionalProperties false), "Can't
//     force to a non-provided destination", "admin password can't be
//     changed on existing disk", "Compute host %s not found.", "The target
//     host can't be the same one.", the 200 with adminPass only below 2.14
//     and an empty body after; apis.md for 2.68 (force removed) and 2.95
//     (the server ends stopped).
//   - nova/compute/api.py (evacuate): check_instance_state (ACTIVE, STOPPED,
//     ERROR with no task) and ComputeServiceInUse ("Compute service of %s
//     is still in use.") when the source service is up; service_is_up is
//     false when forced_down or not heartbeating. Disabling a service does
//     not make it down.
//   - nova/api/openstack/common.py: _STATE_MAP (status from vm_state and
//     task_state) and raise_http_conflict_for_instance_invalid_state
//     ("Cannot '%s' instance %s while it is in vm_state %s").
//   - nova/api/openstack/compute/services.py: index (forced_down from 2.11,
//     UUID ids from 2.53), the 2.53 update (status, disabled_reason,
//     forced_down; "Invalid uuid %s", "Updating a %s service is not
//     supported...", "Specifying 'disabled_reason' with status 'enabled' is
//     invalid.", "No updates were requested...", and un-forcing refused
//     while `done` evacuations remain) and the older
//     enable/disable/disable-log-reason/force-down actions.
//   - nova/api/openstack/compute/hypervisors.py: _view_hypervisor (capacity
//     fields only up to 2.87, cpu_info a string before 2.28, uptime from
//     2.88, servers with with_servers), pattern search and paging rules,
//     "Hypervisor with ID '%s' could not be found.".
//   - nova/api/openstack/compute/attach_interfaces.py: the interface view,
//     "Must not input both network_id and port_id", "Must input network_id
//     when request IP address", PortInUse as 409, 202 on detach.
//
// openstack/neutron-lib (api-ref and exceptions): the NeutronError body,
// "Port %s could not be found.", "Floating IP %s could not be found",
// FloatingIPPortAlreadyAssociated, the port and floating IP attributes.
//
// openstack/keystone api-ref: POST /v3/auth/tokens (201, X-Subject-Token,
// the token body and catalog), GET /v3/auth/tokens, version discovery; 401
// "The request you have made requires authentication.".
//
// gophercloud/gophercloud v2.15.0: openstack/client.go and endpoint.go
// (version discovery and catalog lookup the simulator must satisfy),
// openstack/utils/choose_version.go, service_client.go (the microversion
// headers), and the testing fixtures the fidelity test decodes:
// compute/v2/servers/testing/fixtures_test.go, hypervisors/testing,
// services/testing, attachinterfaces/testing, flavors/testing,
// networking/v2/ports/testing, networks/testing,
// extensions/layer3/floatingips/testing, identity/v3/tokens/testing
// (copied, with their sources, under testdata/gophercloud).
//
// Where the simulator guesses (messages not found in the source, how long
// things take, what is left out), docs/simulators.md says so.
package openstack
