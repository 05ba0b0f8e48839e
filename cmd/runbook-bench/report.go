package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// report is what -json writes; docs/benchmarks.md documents its fields.
type report struct {
	Date        string            `json:"date"`
	Commit      string            `json:"commit"`
	Machine     machine           `json:"machine"`
	Repeat      int               `json:"repeat"`
	Scale       float64           `json:"scale"`
	Parallelism int               `json:"parallelism"`
	TimeoutS    float64           `json:"timeout_s"`
	WorkDir     string            `json:"work_dir"`
	Tools       map[string]string `json:"tools"`
	Results     []result          `json:"results"`
}

type machine struct {
	OS        string `json:"os"`
	Arch      string `json:"arch"`
	CPUs      int    `json:"cpus"`
	CPUModel  string `json:"cpu_model"`
	MemGB     int    `json:"mem_gb"`
	GoVersion string `json:"go_version"`
	// LoadStart and LoadEnd are /proc/loadavg's 1, 5 and 15 minute
	// averages before and after the measurements.
	LoadStart string `json:"load_start"`
	LoadEnd   string `json:"load_end"`
}

// cellID says which phase of which shape a result is.
type cellID struct {
	Shape string `json:"shape"`
	Label string `json:"label"`
	Steps int    `json:"steps"`
	Phase string `json:"phase"`
	Tool  string `json:"tool"`
	Note  string `json:"note,omitempty"`
}

// result is one cell of the table.
type result struct {
	cellID
	// Status is ok, timeout (a run exceeded -timeout), failed (a run
	// exited non-zero), error (the setup failed), missing (not on PATH)
	// or interrupted (Ctrl-C).
	Status  string    `json:"status"`
	Runs    int       `json:"runs"`
	TimesS  []float64 `json:"times_s,omitempty"`
	MedianS float64   `json:"median_s,omitempty"`
	PeakMB  float64   `json:"peak_mb,omitempty"`
	// VsApply and VsApplyExec are a peer's median over runbook's apply
	// and apply-exec medians for the same shape: above 1, runbook is
	// faster.
	VsApply     float64 `json:"vs_apply,omitempty"`
	VsApplyExec float64 `json:"vs_apply_exec,omitempty"`
	Error       string  `json:"error,omitempty"`
}

func newReport(ctx context.Context, cfg config, work string) *report {
	return &report{
		Date:   time.Now().Format(time.RFC3339),
		Commit: gitDescribe(ctx),
		Machine: machine{
			OS: runtime.GOOS, Arch: runtime.GOARCH, CPUs: runtime.NumCPU(),
			CPUModel: cpuModel(), MemGB: memGB(), GoVersion: goVersion(ctx), LoadStart: loadAvg(),
		},
		Repeat: cfg.repeat, Scale: cfg.scale, Parallelism: parallelism,
		TimeoutS: cfg.timeout.Seconds(), WorkDir: work,
	}
}

// finish records the load after the runs and the peers' ratios.
func (r *report) finish(context.Context) {
	r.Machine.LoadEnd = loadAvg()
	for i := range r.Results {
		res := &r.Results[i]
		if res.Tool == "runbook" || res.Status != "ok" {
			continue
		}
		res.VsApply = ratio(res.MedianS, r.median(res.Shape, "apply"))
		res.VsApplyExec = ratio(res.MedianS, r.median(res.Shape, "apply-exec"))
	}
}

// median is the median of a runbook phase of a shape, 0 if not measured.
func (r *report) median(shape, phase string) float64 {
	for _, res := range r.Results {
		if res.Shape == shape && res.Phase == phase && res.Status == "ok" {
			return res.MedianS
		}
	}
	return 0
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func printTable(w io.Writer, r *report) {
	m := r.Machine
	fmt.Fprintf(w, "%s, commit %s: %s x %d CPUs, %d GB, %s %s/%s, load %s -> %s\n", r.Date, r.Commit,
		m.CPUModel, m.CPUs, m.MemGB, m.GoVersion, m.OS, m.Arch, m.LoadStart, m.LoadEnd)
	fmt.Fprintf(w, "median of %d runs, peak RSS of the largest run; x apply = peer time / runbook apply time\n\n", r.Repeat)
	rows := [][]string{{"shape", "phase", "median s", "peak MB", "x apply", "x apply-exec", "note"}}
	for _, res := range r.Results {
		rows = append(rows, []string{res.Label, res.Phase, medianCell(res, r.TimeoutS), mbCell(res),
			ratioCell(res, res.VsApply, r.median(res.Shape, "apply"), r.TimeoutS),
			ratioCell(res, res.VsApplyExec, r.median(res.Shape, "apply-exec"), r.TimeoutS), noteCell(res)})
	}
	writeColumns(w, rows, []bool{false, false, true, true, true, true, false})
}

// writeColumns pads each column to its widest cell, numbers to the
// right; the last column is not padded. (text/tabwriter aligns every
// column one way.)
func writeColumns(w io.Writer, rows [][]string, right []bool) {
	width := make([]int, len(right))
	for _, row := range rows {
		for i, c := range row {
			width[i] = max(width[i], len(c))
		}
	}
	for _, row := range rows {
		var line strings.Builder
		for i, c := range row {
			pad := strings.Repeat(" ", width[i]-len(c))
			switch {
			case i == len(row)-1:
				line.WriteString(c)
			case right[i]:
				line.WriteString(pad + c + "  ")
			default:
				line.WriteString(c + pad + "  ")
			}
		}
		fmt.Fprintln(w, strings.TrimRight(line.String(), " "))
	}
}

func medianCell(res result, timeoutS float64) string {
	switch res.Status {
	case "ok":
		return strconv.FormatFloat(res.MedianS, 'f', 3, 64)
	case "timeout":
		return "> " + (time.Duration(timeoutS) * time.Second).String()
	case "missing":
		return "not on PATH"
	}
	return res.Status
}

func mbCell(res result) string {
	if res.Status != "ok" {
		return ""
	}
	return strconv.FormatFloat(res.PeakMB, 'f', 0, 64)
}

// ratioCell shows a peer's ratio, or for a timeout the least it can be.
func ratioCell(res result, v, base, timeoutS float64) string {
	switch {
	case res.Tool == "runbook" || base == 0:
		return ""
	case res.Status == "ok":
		return strconv.FormatFloat(v, 'f', 1, 64) + "x"
	case res.Status == "timeout":
		return "> " + strconv.FormatFloat(timeoutS/base, 'f', 0, 64) + "x"
	}
	return ""
}

// noteCell is the phase's note, or what went wrong, on one line.
func noteCell(res result) string {
	switch {
	case res.Status == "missing":
		return ""
	case res.Status == "ok" || res.Status == "timeout" || res.Error == "":
		return res.Note
	}
	// The line ends with the cause (keyLine).
	msg := firstLine(res.Error)
	if len(msg) > 100 {
		msg = "..." + msg[len(msg)-100:]
	}
	return msg
}

func writeJSON(path string, r *report) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return s
}

func goVersion(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "go", "env", "GOVERSION").Output()
	if err != nil {
		return runtime.Version()
	}
	return strings.TrimSpace(string(out))
}

func gitDescribe(ctx context.Context) string {
	out, err := exec.CommandContext(ctx, "git", "describe", "--always", "--dirty").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// memGB is MemTotal rounded to whole GiB, as free -g shows it.
func memGB() int {
	b, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
			return kb >> 20
		}
	}
	return 0
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}
