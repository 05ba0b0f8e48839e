// Package host runs provider plugins for the engine: discovery, the lock
// file, launch and handshake, version checks, crash handling and schemas.
//
// Discovery. A plugin is an executable named runbook-provider-NAME, or
// runbook-provider-NAME_vX.Y.Z. The search path is .runbook/plugins beside
// the runbook, each directory of RUNBOOK_PLUGIN_PATH, then the directory of
// the running runbook binary (where `make build` puts the bundled
// providers). The first directory holding a binary for a name wins.
//
// Lock file. `runbook init` (Host.Init) starts each plugin the runbook
// uses once, checks its version against required_providers and records
// version, sha256 and path in .runbook.lock.hcl. Before any plugin starts,
// Host.Verify and every launch check the binary's sha256 against the lock
// file, refusing a plugin that is not recorded, that changed (naming the
// file and both hashes) or whose locked version breaks a constraint.
// go-plugin checks the sum again (SecureConfig) right before it starts
// the process.
//
// Launch. Host.Provider is the engine's ProviderFactory. It returns, for a
// plugin, a provider.Provider that starts its process on its first call
// (so a provider configured but never used starts nothing), one process
// per provider configuration, over gRPC with AutoMTLS, after go-plugin's
// magic-cookie handshake and protocol-version negotiation. The plugin's
// stderr and hclog lines go to the host's charmbracelet logger at debug
// level; its last lines are kept for crash messages. Close sends Stop,
// then go-plugin's graceful shutdown, then kills.
//
// Crashes. When the process dies under a call, the call fails with a
// retryable *provider.Error "provider NAME crashed (exit status N): <its
// last stderr lines>"; the next call starts a new process and sends it
// the configuration again, so a step's retry runs on a fresh plugin. The
// other way round, on Linux a plugin gets SIGKILL when the runbook process
// dies (the parent-death signal), so a killed runbook leaves no plugin
// running beside the run that resumes it.
//
// Schemas. Host.Schemas is the language's SchemaSource: core's schema,
// and each verified plugin's, fetched once per process, and kept on disk
// by binary sha256 (Options.SchemaCache) so that validate and plan
// usually start no plugin at all.
package host
