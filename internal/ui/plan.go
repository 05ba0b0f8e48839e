package ui

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"github.com/runbook-dev/runbook/runbook"
)

// Plan writes the human view of a plan. Output is buffered: a plan of
// thousands of steps would otherwise cost a write system call per line.
func Plan(out io.Writer, p *runbook.Plan) {
	w := bufio.NewWriter(out)
	defer w.Flush()
	if rb := p.Runbook; rb != nil {
		fmt.Fprintf(w, "Runbook %q", rb.Name)
		if rb.Version != "" {
			fmt.Fprintf(w, " v%s", rb.Version)
		}
		if rb.Description != "" {
			fmt.Fprintf(w, ": %s", rb.Description)
		}
		fmt.Fprintln(w)
		fmt.Fprintln(w)
	}
	skip, final := 0, 0
	heading := ""
	for _, s := range p.Steps {
		if h := stepHeading(s); h != heading {
			if heading == "" {
				fmt.Fprintln(w, "Legend: + runs   ? runs, changes nothing   - skipped")
				fmt.Fprintln(w)
			}
			heading = h
			fmt.Fprintf(w, "%s:\n\n", h)
		}
		switch {
		case s.Skip != "":
			skip++
		case s.Finally && len(s.Items) == 0:
			final++
		}
		planStep(w, s)
	}
	if len(p.Outputs) > 0 {
		fmt.Fprintln(w, "Outputs:")
		fmt.Fprintln(w)
		width := 0
		for _, o := range p.Outputs {
			width = max(width, len(o.Name))
		}
		for _, o := range p.Outputs {
			fmt.Fprintf(w, "  %-*s = %s\n", width, o.Name, o.Display)
		}
		fmt.Fprintln(w)
	}
	criticalPath(w, p)
	fmt.Fprintf(w, "Plan: %d to run, %d skipped, %d finally.\n", p.ToRun()-final, skip, final)
}

func stepHeading(s *runbook.PlannedStep) string {
	if s.Finally {
		return "Finally, whatever happens"
	}
	return "Steps in execution order"
}

func planStep(w io.Writer, s *runbook.PlannedStep) {
	mark := "+"
	switch {
	case s.Skip != "":
		mark = "-"
	case !s.Mutating:
		mark = "?"
	}
	fmt.Fprintf(w, "  %s %s (%s)", mark, s.Addr, s.Action)
	if s.Skip != "" {
		fmt.Fprintf(w, " skipped: %s\n\n", s.Skip)
		return
	}
	fmt.Fprintln(w)
	width := 0
	for _, in := range s.Inputs {
		width = max(width, len(in.Name))
	}
	for _, in := range s.Inputs {
		fmt.Fprintf(w, "      %-*s = %s\n", width, in.Name, indentRest(in.Display, 9+width))
	}
	for _, line := range metaLines(s) {
		fmt.Fprintf(w, "      # %s\n", line)
	}
	fmt.Fprintln(w)
}

// metaLines describes a step's meta-arguments, one per line.
func metaLines(s *runbook.PlannedStep) []string {
	var out []string
	if len(s.DependsOn) > 0 {
		out = append(out, "after "+strings.Join(s.DependsOn, ", "))
	}
	if s.When != "" {
		out = append(out, "when "+s.When)
	}
	if s.ForEach != "" {
		out = append(out, "for_each "+s.ForEach)
	}
	if len(s.Items) > 0 {
		out = append(out, "for_each: "+plural(len(s.Items), "item"))
	}
	if s.Timeout > 0 {
		out = append(out, "timeout "+s.Timeout.String())
	}
	if r := s.Retry; r != nil {
		line := fmt.Sprintf("retry %d attempts, delay %s, backoff x%g", r.Attempts, r.Delay, r.Backoff)
		if r.MaxDelay > 0 {
			line += ", max delay " + r.MaxDelay.String()
		}
		out = append(out, line)
	}
	if s.Confirm != "" {
		out = append(out, "asks for confirmation: "+s.Confirm)
	}
	return out
}

func indentRest(s string, n int) string {
	return strings.ReplaceAll(s, "\n", "\n"+strings.Repeat(" ", n))
}

func criticalPath(w io.Writer, p *runbook.Plan) {
	if len(p.CriticalPath) == 0 {
		return
	}
	fmt.Fprintf(w, "Critical path: %s\n", strings.Join(p.CriticalPath, " -> "))
	fmt.Fprintf(w, "Estimated duration: %s", p.Estimate)
	if p.Untimed > 0 {
		fmt.Fprintf(w, " (%s on it without a timeout counted as 0s)", plural(p.Untimed, "step"))
	}
	fmt.Fprintln(w)
	if p.RTO > 0 {
		verdict := "within"
		if p.Estimate > p.RTO {
			verdict = "EXCEEDS"
		}
		fmt.Fprintf(w, "RTO: %s (estimate %s the target)\n", p.RTO, verdict)
	}
	fmt.Fprintln(w)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
