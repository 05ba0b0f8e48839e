// Package runbook is the engine. It flattens a runbook and its modules into
// a step graph (explicit depends_on plus every reference), plans it, and
// walks it. It talks to providers only through one Provider interface and
// records every transition in the journal.
//
// It imports the language (dsl) and the provider contract; it must not
// import the CLI (cmd/) or any provider's client library.
package runbook
