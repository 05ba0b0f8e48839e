package ui

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/charmbracelet/log"

	"github.com/runbook-dev/runbook/runbook"
)

// LogView renders run events as timestamped log lines, in the spirit of a
// manager's execution log ("Task started ... [attempt 2/6]"). It is the
// view without a terminal, and the one CI logs keep.
type LogView struct {
	mu  sync.Mutex
	log *log.Logger
	// Verbose shows provider log lines below info level.
	Verbose bool
}

// NewLogView writes to w, with colour only when w is a terminal.
func NewLogView(w io.Writer, verbose bool) *LogView {
	l := log.NewWithOptions(w, log.Options{ReportTimestamp: true, TimeFormat: "2006-01-02 15:04:05"})
	if verbose {
		l.SetLevel(log.DebugLevel)
	}
	return &LogView{log: l, Verbose: verbose}
}

// Event implements runbook.Observer.
func (v *LogView) Event(e runbook.Event) {
	v.mu.Lock()
	defer v.mu.Unlock()
	switch e.Type {
	case runbook.EventRunStarted:
		mode := "Run"
		if e.DryRun {
			mode = "Dry run"
		}
		v.log.Info(fmt.Sprintf("%s %s started", mode, e.RunID), "runbook", e.Message)
	case runbook.EventStepStarted:
		v.log.Info(stepStarted(e))
	case runbook.EventAttemptStarted:
		v.log.Info(fmt.Sprintf("Retrying %s [attempt %d/%d]", e.Step, e.Attempt, e.Attempts))
	case runbook.EventAttemptFailed:
		v.log.Warn(fmt.Sprintf("Attempt %d/%d of %s failed: %s", e.Attempt, e.Attempts, e.Step, e.Message))
	case runbook.EventLog:
		v.providerLog(e)
	case runbook.EventProgress:
		if p := e.Progress; p != nil {
			v.log.Debug(fmt.Sprintf("%s: %s", e.Step, progressText(p.Done, p.Total, p.Unit)))
		}
	case runbook.EventStepFinished:
		v.stepFinished(e)
	case runbook.EventRunEnded:
		v.log.Info(fmt.Sprintf("Run %s %s in %s", e.RunID, e.RunStatus, e.Duration.Round(time.Millisecond)), "journal_syncs", e.Syncs)
	}
}

func stepStarted(e runbook.Event) string {
	if e.Items != nil {
		return fmt.Sprintf("Task started %s (%s) for %d items", e.Step, e.Action, e.Items[runbook.Pending])
	}
	msg := fmt.Sprintf("Task started %s (%s)", e.Step, e.Action)
	if e.Attempts > 1 {
		msg += fmt.Sprintf(" [attempt 1/%d]", e.Attempts)
	}
	return msg
}

func (v *LogView) stepFinished(e runbook.Event) {
	msg := fmt.Sprintf("Task %s %s", e.Status, e.Step)
	if len(e.Items) > 0 {
		msg += " " + countsText(e.Items)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	switch e.Status {
	case runbook.Failed:
		v.log.Error(msg)
	case runbook.Cancelled, runbook.Skipped:
		v.log.Warn(msg)
	default:
		v.log.Info(msg)
	}
}

func (v *LogView) providerLog(e runbook.Event) {
	msg := e.Step + ": " + e.Message
	level := "info"
	if e.Progress != nil {
		level = e.Progress.Level
	}
	switch level {
	case "debug":
		v.log.Debug(msg)
	case "warn":
		v.log.Warn(msg)
	case "error":
		v.log.Error(msg)
	default:
		v.log.Info(msg)
	}
}

// countsText renders for_each counts: (3 succeeded, 1 failed).
func countsText(c map[runbook.StepStatus]int) string {
	var parts []string
	for s := runbook.Pending; s <= runbook.Cancelled; s++ {
		if c[s] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", c[s], s))
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

func progressText(done, total int64, unit string) string {
	if total > 0 {
		return fmt.Sprintf("%d/%d %s (%.0f%%)", done, total, unit, 100*float64(done)/float64(total))
	}
	return fmt.Sprintf("%d %s", done, unit)
}

// EventSchemaVersion versions the --json event stream (docs/events-json.md).
const EventSchemaVersion = 1

// JSONView writes one JSON object per event per line.
type JSONView struct {
	mu  sync.Mutex
	enc *json.Encoder
}

// NewJSONView writes to w.
func NewJSONView(w io.Writer) *JSONView { return &JSONView{enc: json.NewEncoder(w)} }

// jsonEvent is the documented shape of one event.
type jsonEvent struct {
	Schema     int            `json:"schema"`
	Time       string         `json:"time"`
	Type       string         `json:"type"`
	RunID      string         `json:"run_id"`
	Step       string         `json:"step,omitempty"`
	Action     string         `json:"action,omitempty"`
	Status     string         `json:"status,omitempty"`
	Attempt    int            `json:"attempt,omitempty"`
	Attempts   int            `json:"attempts,omitempty"`
	Message    string         `json:"message,omitempty"`
	Items      map[string]int `json:"items,omitempty"`
	Progress   *jsonProgress  `json:"progress,omitempty"`
	RunStatus  string         `json:"run_status,omitempty"`
	DurationMS int64          `json:"duration_ms,omitempty"`
	DryRun     bool           `json:"dry_run,omitempty"`
	Syncs      int64          `json:"syncs,omitempty"`
}

type jsonProgress struct {
	Done  int64  `json:"done"`
	Total int64  `json:"total,omitempty"`
	Unit  string `json:"unit,omitempty"`
	Level string `json:"level,omitempty"`
}

// Event implements runbook.Observer.
func (v *JSONView) Event(e runbook.Event) {
	je := jsonEvent{
		Schema: EventSchemaVersion, Time: e.Time.UTC().Format(time.RFC3339Nano), Type: string(e.Type),
		RunID: e.RunID, Step: e.Step, Action: e.Action, Attempt: e.Attempt, Attempts: e.Attempts,
		Message: e.Message, RunStatus: string(e.RunStatus), DurationMS: e.Duration.Milliseconds(), DryRun: e.DryRun,
		Syncs: e.Syncs,
	}
	if e.Type == runbook.EventStepFinished {
		je.Status = e.Status.String()
	}
	if e.Items != nil {
		je.Items = map[string]int{}
		for s, n := range e.Items {
			je.Items[s.String()] = n
		}
	}
	if p := e.Progress; p != nil {
		je.Progress = &jsonProgress{Done: p.Done, Total: p.Total, Unit: p.Unit, Level: p.Level}
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	_ = v.enc.Encode(je) // a closed stdout is not the run's failure
}

// Outputs prints a run's outputs after it ends.
func Outputs(w io.Writer, outs []*runbook.PlannedValue) {
	if len(outs) == 0 {
		return
	}
	sort.Slice(outs, func(i, j int) bool { return outs[i].Name < outs[j].Name })
	width := 0
	for _, o := range outs {
		width = max(width, len(o.Name))
	}
	fmt.Fprintln(w, "\nOutputs:")
	fmt.Fprintln(w)
	var tables []*runbook.PlannedValue
	for _, o := range outs {
		if _, rows, ok := objectTable(o.Value); ok {
			fmt.Fprintf(w, "  %-*s = (%d rows, below)\n", width, o.Name, len(rows))
			tables = append(tables, o)
			continue
		}
		fmt.Fprintf(w, "  %-*s = %s\n", width, o.Name, indentRest(o.Display, width+5))
	}
	for _, o := range tables {
		cols, rows, _ := objectTable(o.Value)
		writeTable(w, o.Name, cols, rows)
	}
}
