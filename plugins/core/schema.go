// Package core is the built-in provider: local commands, HTTP calls, waits,
// sleeps, manual approval gates, checksums and file copies. It runs in the
// runbook process behind the same Provider interface as the plugins. Its
// action names, inputs and outputs are a published contract
// (../shared/DESIGN.md, "core actions"): add to them, never rename.
//
// It must not import the engine; the engine imports it.
package core

import (
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
)

// Version is the core provider's version, reported like a plugin's.
const Version = "0.1.0"

func attr(ty cty.Type, required bool, desc string) *dsl.AttributeSchema {
	return &dsl.AttributeSchema{Type: ty, Required: required, Description: desc}
}

var stringList = cty.List(cty.String)

// Schema returns the core provider's schema.
func Schema() *dsl.ProviderSchema {
	return &dsl.ProviderSchema{
		Version: Version,
		Config:  &dsl.BlockSchema{},
		Actions: map[string]*dsl.ActionSchema{
			"exec":      execSchema(),
			"http":      httpSchema(),
			"wait":      waitSchema(),
			"sleep":     sleepSchema(),
			"approve":   approveSchema(),
			"checksum":  checksumSchema(),
			"file_copy": fileCopySchema(),
		},
	}
}

func execSchema() *dsl.ActionSchema {
	return &dsl.ActionSchema{
		Description: "Run a command (argv list; no shell unless shell = true).",
		Mutating:    true,
		Inputs: &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{
			"command":       attr(stringList, true, "The program and its arguments."),
			"env":           attr(cty.Map(cty.String), false, "Extra environment variables."),
			"dir":           attr(cty.String, false, "Working directory."),
			"stdin":         attr(cty.String, false, "Text written to the command's standard input."),
			"shell":         attr(cty.Bool, false, "Run command[0] through /bin/sh -c."),
			"parse_json":    attr(cty.Bool, false, "Decode stdout as JSON into the json output."),
			"idempotent":    attr(cty.Bool, false, "Resume may re-run an interrupted attempt without asking."),
			"ok_exit_codes": attr(cty.List(cty.Number), false, "Exit codes that count as success besides 0."),
		}},
		Outputs: map[string]cty.Type{
			"stdout": cty.String, "stderr": cty.String, "exit_code": cty.Number, "json": cty.DynamicPseudoType,
		},
	}
}

func httpSchema() *dsl.ActionSchema {
	return &dsl.ActionSchema{
		Description: "Make an HTTP request and check its status.",
		Mutating:    true,
		Inputs: &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{
			"url":           attr(cty.String, true, "The URL."),
			"method":        attr(cty.String, false, "HTTP method, GET by default."),
			"headers":       attr(cty.Map(cty.String), false, "Request headers."),
			"body":          attr(cty.String, false, "Request body."),
			"expect_status": attr(cty.List(cty.Number), false, "Accepted status codes; any 2xx by default."),
			"insecure":      attr(cty.Bool, false, "Skip TLS certificate verification."),
			"ca_file":       attr(cty.String, false, "PEM file of CA certificates to trust."),
		}},
		Outputs: map[string]cty.Type{
			"status": cty.Number, "headers": cty.Map(cty.String), "body": cty.String, "json": cty.DynamicPseudoType,
		},
	}
}

func waitSchema() *dsl.ActionSchema {
	return &dsl.ActionSchema{
		Description: "Poll a command or a URL until it succeeds.",
		Idempotent:  true,
		Inputs: &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{
			"command":  attr(stringList, false, "Command that must exit 0."),
			"url":      attr(cty.String, false, "URL that must answer 2xx."),
			"interval": attr(cty.String, false, "Time between polls, 5s by default."),
			"timeout":  attr(cty.String, false, "Give up after this long."),
			"insecure": attr(cty.Bool, false, "Skip TLS certificate verification."),
			"ca_file":  attr(cty.String, false, "PEM file of CA certificates to trust (url only)."),
		}},
		Outputs: map[string]cty.Type{"attempts": cty.Number, "elapsed": cty.String},
	}
}

func sleepSchema() *dsl.ActionSchema {
	return &dsl.ActionSchema{
		Description: "Wait for a fixed time.",
		Idempotent:  true,
		Inputs: &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{
			"duration": attr(cty.String, true, "How long, as in \"30s\"."),
		}},
	}
}

func approveSchema() *dsl.ActionSchema {
	return &dsl.ActionSchema{
		Description: "A manual gate: print instructions and wait for an operator.",
		Inputs: &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{
			"message": attr(cty.String, true, "What the operator must do or confirm."),
		}},
		Outputs: map[string]cty.Type{"approved_by": cty.String},
	}
}

func checksumSchema() *dsl.ActionSchema {
	return &dsl.ActionSchema{
		Description: "Compute the sha256 and size of a file.",
		Idempotent:  true,
		Inputs: &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{
			"path":   attr(cty.String, true, "The file."),
			"sha256": attr(cty.String, false, "Expected digest; the step fails on a mismatch."),
		}},
		Outputs: map[string]cty.Type{"sha256": cty.String, "size": cty.Number},
	}
}

func fileCopySchema() *dsl.ActionSchema {
	secret := func(desc string) *dsl.AttributeSchema {
		a := attr(cty.String, false, desc)
		a.Sensitive = true
		return a
	}
	return &dsl.ActionSchema{
		Description: "Copy a file atomically (temporary file, then rename) and verify it, locally or to or from a host over SFTP.",
		Mutating:    true,
		Idempotent:  true,
		Inputs: &dsl.BlockSchema{Attributes: map[string]*dsl.AttributeSchema{
			"source":        attr(cty.String, true, "File to copy: a path, or sftp://[user@]host[:port]/absolute/path (ssh:// too)."),
			"destination":   attr(cty.String, true, "Where to put it: a path or an sftp:// URL; an existing directory receives a file of the source's name."),
			"mode":          attr(cty.String, false, "Octal permissions of the copy, as in \"0600\"."),
			"expect_sha256": attr(cty.String, false, "Digest the source must have; nothing is copied on a mismatch."),

			"ssh_private_key_file":         attr(cty.String, false, "Private key to log in with."),
			"ssh_private_key_passphrase":   secret("Passphrase of the private key."),
			"ssh_password":                 secret("Password to log in with, tried after the keys."),
			"ssh_known_hosts_file":         attr(cty.String, false, "Accepted host keys, ~/.ssh/known_hosts by default."),
			"ssh_insecure_ignore_host_key": attr(cty.Bool, false, "Accept any host key (never in production)."),
			"ssh_timeout":                  attr(cty.String, false, "Time limit to connect and log in, 30s by default."),
		}},
		Outputs: map[string]cty.Type{"path": cty.String, "sha256": cty.String, "size": cty.Number},
	}
}
