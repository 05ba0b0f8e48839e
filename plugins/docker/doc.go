// Package docker is the runbook provider of the Docker Engine API: images
// (list, save to a tar file, load from one, tag, remove), containers (list,
// inspect, stop, start, restart, wait until healthy), volumes (list) and a
// ping. It is what a DR runbook needs to carry images to a standby host
// (docker save, copy, docker load: seed 004) and to bring its containers
// back. New returns it as an *sdk.Provider, which tests use in-process and
// cmd/runbook-provider-docker serves as a plugin.
//
// The engine is reached with the official client (github.com/moby/moby/
// client), configured as the docker CLI is: DOCKER_HOST, DOCKER_API_VERSION,
// DOCKER_CERT_PATH and DOCKER_TLS_VERIFY, unless the provider block sets
// host, api_version or the TLS files. The API version is negotiated on the
// first call, so a runbook works against old and new engines alike (the
// client's floor is API 1.40, Docker 19.03).
//
// Errors name the image or container and keep the daemon's message; they
// are retryable when trying again may help: the daemon could not be
// reached, or answered 5xx. Not found, conflict and bad input are final.
// Plan never sends a mutating request: read-only actions read, and report
// unknown outputs rather than fail when the daemon is down (a dry-run on a
// standby whose engine is not up yet must still show the plan); mutating
// actions send nothing. Every mutating action has a Check for resume.
//
// The action names, inputs and outputs listed in DESIGN.md ("provider
// docker") are a contract: add to them, never rename. The package imports
// the SDK and the Docker client only; it must not import the engine or the
// CLI.
package docker
