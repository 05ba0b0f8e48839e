package ui

import (
	"fmt"
	"io"
	"strings"

	"github.com/runbook-dev/runbook/runbook"
)

// GraphDOT writes the step graph in Graphviz DOT; an edge points from a
// step to the step it waits for, as in `terraform graph`.
func GraphDOT(w io.Writer, g *runbook.Graph) {
	fmt.Fprintln(w, "digraph runbook {")
	fmt.Fprintln(w, "  rankdir = \"RL\";")
	fmt.Fprintln(w, "  node [shape = box];")
	for _, n := range g.Nodes {
		attrs := fmt.Sprintf(`label = "%s\n%s"`, dotEscape(n.Addr), dotEscape(n.Step.Action.String()))
		if n.Finally() {
			attrs += ", style = dashed"
		}
		fmt.Fprintf(w, "  \"%s\" [%s];\n", dotEscape(n.Addr), attrs)
	}
	for _, n := range g.Nodes {
		for _, d := range n.Deps {
			fmt.Fprintf(w, "  \"%s\" -> \"%s\";\n", dotEscape(n.Addr), dotEscape(g.Nodes[d].Addr))
		}
	}
	fmt.Fprintln(w, "}")
}

// GraphMermaid writes the step graph as a Mermaid flowchart, edges in
// execution order (from a step to the ones that wait for it).
func GraphMermaid(w io.Writer, g *runbook.Graph) {
	fmt.Fprintln(w, "flowchart LR")
	for _, n := range g.Nodes {
		open, closing := "[", "]"
		if n.Finally() {
			open, closing = "([", "])"
		}
		fmt.Fprintf(w, "  n%d%s\"%s<br/>%s\"%s\n", n.ID, open, mermaidText(n.Addr), n.Step.Action.String(), closing)
	}
	for _, n := range g.Nodes {
		for _, d := range n.Deps {
			fmt.Fprintf(w, "  n%d --> n%d\n", d, n.ID)
		}
	}
}

// dotEscape escapes a DOT quoted string: only quotes and backslashes are
// special (Go's %q would also escape \n, which DOT reads as a line break).
func dotEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s)
}

// mermaidText escapes the characters Mermaid treats specially in labels.
func mermaidText(s string) string {
	return strings.NewReplacer(`"`, "#quot;", "<", "#lt;", ">", "#gt;").Replace(s)
}
