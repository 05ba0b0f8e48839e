// Package ui owns what people and scripts read: diagnostics rendered with
// their source lines, the plan, the step graph as DOT or Mermaid, and (with
// the engine) live progress and the --json event stream.
//
// It renders; it decides nothing. It may import the engine's data types
// (runbook/) and the language (dsl/) but nothing imports it except the CLI.
package ui
