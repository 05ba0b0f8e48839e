package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"text/tabwriter"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/runbook"
)

const timeLayout = "2006-01-02 15:04:05"

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(timeLayout)
}

func span(start, end time.Time) string {
	if start.IsZero() || end.IsZero() {
		return "-"
	}
	return end.Sub(start).Round(time.Millisecond).String()
}

// Runs writes `runbook runs list`.
func Runs(w io.Writer, runs []state.RunSummary) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RUN ID\tRUNBOOK\tVERSION\tSTARTED\tDURATION\tSTATUS")
	for _, r := range runs {
		status := r.Status
		if r.DryRun {
			status += " (dry-run)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.Runbook, dash(r.Version), when(r.Started), span(r.Started, r.Ended), status)
	}
	tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// Run writes `runbook runs show`: each step, and for_each items as a table
// like a recovery workflow's "VM moves" view.
func Run(w io.Writer, v *runbook.RunView) {
	if v.Info != nil {
		fmt.Fprintf(w, "Run %s of %s %s\n", v.Info.ID, v.Info.Runbook, dash(v.Info.Version))
		fmt.Fprintf(w, "Status: %s   Started: %s   Ended: %s   Duration: %s\n", v.Status, when(v.Started), when(v.Ended), span(v.Started, v.Ended))
		if v.Info.DryRun {
			fmt.Fprintln(w, "Dry run: no mutating call was made.")
		}
		if v.Resumed > 0 {
			fmt.Fprintf(w, "Resumed %d time(s).\n", v.Resumed)
		}
		fmt.Fprintln(w)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STEP\tSTATUS\tATTEMPTS\tSTARTED\tENDED\tDURATION\tMESSAGE")
	for _, s := range v.Steps {
		stepRow(tw, s)
	}
	tw.Flush()
	for _, s := range v.Steps {
		if len(s.Items) > 0 {
			items(w, s)
		}
	}
	Outputs(w, OutputList(v.Outputs))
}

func stepRow(w io.Writer, s *runbook.StepView) {
	attempts := "-"
	if s.Attempts > 0 {
		attempts = fmt.Sprint(s.Attempts)
	}
	if len(s.Items) > 0 {
		attempts = fmt.Sprintf("%d items", len(s.Items))
	}
	fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", s.Addr, s.Status, attempts, when(s.Started), when(s.Ended), span(s.Started, s.Ended), oneLine(s.Message))
}

func items(w io.Writer, s *runbook.StepView) {
	fmt.Fprintf(w, "\n%s items:\n", s.Addr)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  ITEM\tSTATUS\tATTEMPTS\tSTART\tEND\tMESSAGE")
	for _, it := range s.Items {
		fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\n", it.Addr[len(s.Addr):], it.Status, it.Attempts, when(it.Started), when(it.Ended), oneLine(it.Message))
	}
	tw.Flush()
}

func oneLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i] + " ..."
		}
	}
	if len(s) > 160 {
		return s[:157] + "..."
	}
	return s
}

// OutputList renders stored outputs for Outputs.
func OutputList(vals map[string]cty.Value) []*runbook.PlannedValue {
	var out []*runbook.PlannedValue
	for name, v := range vals {
		pv := &runbook.PlannedValue{Name: name, Display: OutputValue(v)}
		if v.IsWhollyKnown() && !v.ContainsMarked() && !v.IsMarked() {
			pv.Value = v
		}
		out = append(out, pv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// OutputValue renders one stored output; sensitive ones are never shown.
func OutputValue(v cty.Value) string {
	if v.IsMarked() {
		return runbook.Sensitive
	}
	return runbook.FormatValue(v)
}

// RunsJSON is the documented JSON of `runs list --json`.
func RunsJSON(runs []state.RunSummary) any {
	type row struct {
		ID      string     `json:"id"`
		Runbook string     `json:"runbook"`
		Version string     `json:"version,omitempty"`
		Started time.Time  `json:"started"`
		Ended   *time.Time `json:"ended,omitempty"`
		Status  string     `json:"status"`
		DryRun  bool       `json:"dry_run"`
	}
	out := []row{}
	for _, r := range runs {
		x := row{ID: r.ID, Runbook: r.Runbook, Version: r.Version, Started: r.Started, Status: r.Status, DryRun: r.DryRun}
		if !r.Ended.IsZero() {
			e := r.Ended
			x.Ended = &e
		}
		out = append(out, x)
	}
	return map[string]any{"schema": EventSchemaVersion, "runs": out}
}

// RunJSON is the documented JSON of `runs show --json`.
func RunJSON(v *runbook.RunView) any {
	type step struct {
		Step     string  `json:"step"`
		Status   string  `json:"status"`
		Attempts int     `json:"attempts"`
		Started  string  `json:"started,omitempty"`
		Ended    string  `json:"ended,omitempty"`
		Seconds  float64 `json:"duration_seconds"`
		Message  string  `json:"message,omitempty"`
		Items    []step  `json:"items,omitempty"`
	}
	var conv func(s *runbook.StepView) step
	conv = func(s *runbook.StepView) step {
		x := step{Step: s.Addr, Status: s.Status, Attempts: s.Attempts, Started: rfc(s.Started), Ended: rfc(s.Ended),
			Seconds: s.Duration().Seconds(), Message: s.Message}
		for _, it := range s.Items {
			x.Items = append(x.Items, conv(it))
		}
		return x
	}
	steps := []step{}
	for _, s := range v.Steps {
		steps = append(steps, conv(s))
	}
	out := map[string]any{
		"schema": EventSchemaVersion, "status": v.Status, "started": rfc(v.Started), "ended": rfc(v.Ended),
		"resumed": v.Resumed, "steps": steps, "outputs": OutputsJSON(v.Outputs),
	}
	if v.Info != nil {
		out["id"], out["runbook"], out["version"], out["dry_run"] = v.Info.ID, v.Info.Runbook, v.Info.Version, v.Info.DryRun
	}
	return out
}

func rfc(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// OutputsJSON renders outputs as JSON values; sensitive ones as
// {"sensitive": true}.
func OutputsJSON(vals map[string]cty.Value) map[string]any {
	out := map[string]any{}
	for name, v := range vals {
		if v.IsMarked() || v.ContainsMarked() {
			out[name] = map[string]bool{"sensitive": true}
			continue
		}
		b, err := ctyjson.Marshal(v, v.Type())
		if err != nil {
			continue
		}
		out[name] = json.RawMessage(b)
	}
	return out
}
