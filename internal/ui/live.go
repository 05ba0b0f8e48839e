package ui

import (
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	tea "github.com/charmbracelet/bubbletea"
	"github.com/charmbracelet/lipgloss"

	"github.com/runbook-dev/runbook/runbook"
)

// LiveView is the terminal's progress view: finished steps scroll above a
// live block showing each running step with its attempt and elapsed time,
// fan-out counts, and the run's totals. It is a bubbletea program that
// leaves stdin alone, so confirmation prompts can still read it (Pause and
// Resume hand the terminal over to them).
type LiveView struct {
	p    *tea.Program
	done chan struct{}
	mu   sync.Mutex
	// input is the read end of a pipe nobody writes to: the program's input
	// instead of the terminal's. bubbletea's RestoreTerminal (Resume)
	// crashes on a nil input (WithInput(nil)), and reading the terminal
	// would steal the prompts' answers.
	input, inputW *os.File
}

// NewLiveView starts the view on w, a terminal.
func NewLiveView(w io.Writer) *LiveView {
	v := &LiveView{done: make(chan struct{})}
	opts := []tea.ProgramOption{tea.WithOutput(w), tea.WithoutSignalHandler()}
	var err error
	if v.input, v.inputW, err = os.Pipe(); err == nil {
		opts = append(opts, tea.WithInput(v.input))
	} else {
		opts = append(opts, tea.WithInput(nil))
	}
	v.p = tea.NewProgram(newLiveModel(), opts...)
	go func() {
		defer close(v.done)
		_, _ = v.p.Run()
	}()
	return v
}

// Event implements runbook.Observer.
func (v *LiveView) Event(e runbook.Event) { v.p.Send(e) }

// Close stops the view after it has drawn every event sent so far.
func (v *LiveView) Close() {
	v.p.Send(quitMsg{})
	<-v.done
	if v.input != nil {
		_ = v.inputW.Close()
		_ = v.input.Close()
	}
}

// Pause gives the terminal back (for a prompt); Resume takes it again.
func (v *LiveView) Pause() {
	v.mu.Lock()
	_ = v.p.ReleaseTerminal()
}

// Resume redraws the view after Pause.
func (v *LiveView) Resume() {
	_ = v.p.RestoreTerminal()
	v.mu.Unlock()
}

type quitMsg struct{}
type tickMsg time.Time

type liveStep struct {
	addr, action      string
	started           time.Time
	attempt, attempts int
	items             map[runbook.StepStatus]int
}

type liveModel struct {
	running map[string]*liveStep
	totals  map[runbook.StepStatus]int
	started time.Time
	runID   string
	now     time.Time
	done    bool // the run ended: the block is cleared, lines stay
}

func newLiveModel() *liveModel {
	return &liveModel{running: map[string]*liveStep{}, totals: map[runbook.StepStatus]int{}, started: time.Now(), now: time.Now()}
}

func tick() tea.Cmd {
	return tea.Tick(200*time.Millisecond, func(t time.Time) tea.Msg { return tickMsg(t) })
}

func (m *liveModel) Init() tea.Cmd { return tick() }

func (m *liveModel) Update(msg tea.Msg) (tea.Model, tea.Cmd) {
	switch msg := msg.(type) {
	case quitMsg:
		m.done = true
		return m, tea.Quit
	case tickMsg:
		m.now = time.Time(msg)
		return m, tick()
	case runbook.Event:
		return m, m.event(msg)
	}
	return m, nil
}

var (
	okStyle   = lipgloss.NewStyle().Foreground(lipgloss.Color("2"))
	failStyle = lipgloss.NewStyle().Foreground(lipgloss.Color("1")).Bold(true)
	dimStyle  = lipgloss.NewStyle().Foreground(lipgloss.Color("8"))
)

// event updates the live block and returns the line to print above it.
func (m *liveModel) event(e runbook.Event) tea.Cmd {
	switch e.Type {
	case runbook.EventRunStarted:
		m.runID, m.started = e.RunID, e.Time
		return tea.Println(dimStyle.Render("Run " + e.RunID))
	case runbook.EventStepStarted:
		if parent := m.running[baseOf(e.Step)]; parent != nil && parent.items != nil && baseOf(e.Step) != e.Step {
			parent.items[runbook.Pending]--
			parent.items[runbook.Running]++
		}
		m.running[e.Step] = &liveStep{addr: e.Step, action: e.Action, started: e.Time, attempt: 1, attempts: e.Attempts, items: e.Items}
	case runbook.EventAttemptStarted:
		if s := m.running[e.Step]; s != nil {
			s.attempt = e.Attempt
		}
	case runbook.EventAttemptFailed:
		return tea.Println(failStyle.Render("!") + fmt.Sprintf(" %s attempt %d/%d failed: %s", e.Step, e.Attempt, e.Attempts, e.Message))
	case runbook.EventStepFinished:
		return m.finished(e)
	case runbook.EventRunEnded:
		return tea.Println(fmt.Sprintf("Run %s %s in %s", e.RunID, e.RunStatus, e.Duration.Round(time.Millisecond)))
	}
	return nil
}

func (m *liveModel) finished(e runbook.Event) tea.Cmd {
	s := m.running[e.Step]
	delete(m.running, e.Step)
	if base := baseOf(e.Step); base != e.Step {
		if parent := m.running[base]; parent != nil && parent.items != nil {
			from := runbook.Pending
			if s != nil {
				from = runbook.Running
			}
			parent.items[from]--
			parent.items[e.Status]++
		}
		if e.Status == runbook.Succeeded {
			return nil // items are counted on their step's line, not listed
		}
	}
	if e.Items == nil {
		m.totals[e.Status]++
	}
	mark := okStyle.Render("✓")
	switch e.Status {
	case runbook.Failed:
		mark = failStyle.Render("✗")
	case runbook.Skipped, runbook.Cancelled:
		mark = dimStyle.Render("-")
	}
	line := fmt.Sprintf("%s %s %s", mark, e.Step, e.Status)
	if s != nil {
		line += dimStyle.Render(" " + time.Since(s.started).Round(time.Millisecond).String())
	}
	if e.Items != nil {
		line += " " + countsText(e.Items)
	}
	if e.Message != "" {
		line += ": " + e.Message
	}
	return tea.Println(line)
}

func baseOf(addr string) string {
	if i := strings.IndexByte(addr, '['); i >= 0 {
		return addr[:i]
	}
	return addr
}

func (m *liveModel) View() string {
	if m.done {
		return ""
	}
	var b strings.Builder
	steps := make([]*liveStep, 0, len(m.running))
	for _, s := range m.running {
		if baseOf(s.addr) == s.addr || m.running[baseOf(s.addr)] == nil {
			steps = append(steps, s)
		}
	}
	sort.Slice(steps, func(i, j int) bool { return steps[i].started.Before(steps[j].started) })
	const shown = 12
	for i, s := range steps {
		if i == shown {
			fmt.Fprintf(&b, "  ... and %d more running\n", len(steps)-shown)
			break
		}
		fmt.Fprintf(&b, "  ⠿ %s %s %s", s.addr, dimStyle.Render("("+s.action+")"), m.now.Sub(s.started).Round(time.Second))
		if s.attempts > 1 {
			fmt.Fprintf(&b, " [attempt %d/%d]", s.attempt, s.attempts)
		}
		if s.items != nil {
			fmt.Fprintf(&b, " %s", countsText(s.items))
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%s  %d running  %d succeeded  %d failed  %d skipped\n",
		m.now.Sub(m.started).Round(time.Second), len(steps), m.totals[runbook.Succeeded], m.totals[runbook.Failed], m.totals[runbook.Skipped])
	return b.String()
}
