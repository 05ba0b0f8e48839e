// Package dsl owns the runbook language: it reads a runbook directory (or one
// file) of HCL, decodes it into a configuration model, resolves variable
// values, evaluates expressions with the runbook function set, and validates
// everything that can be checked without running a step.
//
// It keeps hcl.Expression and hcl.Body values in the model until the engine
// has the values they need ("decode structure early, evaluate late"), and it
// knows nothing about execution: it must not import the engine (runbook/),
// the plugin host or any provider. Provider schemas reach it through the
// SchemaSource interface defined here.
//
// Every problem caused by a runbook is returned as an hcl.Diagnostic with the
// narrowest source range that explains it.
package dsl
