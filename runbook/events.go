package runbook

import (
	"time"

	"github.com/runbook-dev/runbook/plugins/provider"
)

// StepStatus is the state of a step or of one for_each item.
type StepStatus int

// Step states. A step is skipped when its `when` is false or a step it
// depends on did not succeed.
const (
	Pending StepStatus = iota
	Running
	Succeeded
	Failed
	Skipped
	Cancelled
)

var statusNames = [...]string{"pending", "running", "succeeded", "failed", "skipped", "cancelled"}

func (s StepStatus) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return "unknown"
}

// RunStatus is the state of a whole run.
type RunStatus string

// Run states.
const (
	RunRunning   RunStatus = "running"
	RunFinished  RunStatus = "finished"
	RunFailed    RunStatus = "failed"
	RunCancelled RunStatus = "cancelled"
)

// EventType says what an Event reports.
type EventType string

// The events a run emits, in the order they can happen.
const (
	EventRunStarted     EventType = "run_started"
	EventStepStarted    EventType = "step_started"
	EventAttemptStarted EventType = "attempt_started"
	EventAttemptFailed  EventType = "attempt_failed"
	EventProgress       EventType = "progress"
	EventLog            EventType = "log"
	EventStepFinished   EventType = "step_finished" // Status says how
	EventRunEnded       EventType = "run_ended"
)

// Event is one thing that happened during a run. The same event feeds the
// human view and the --json stream.
type Event struct {
	Time    time.Time
	Type    EventType
	RunID   string
	Step    string // address, with the item key for for_each items
	Action  string
	Status  StepStatus
	Attempt int
	// Attempts is the most attempts the step may make.
	Attempts int
	Message  string
	// Items counts a for_each step's items by status when it starts and
	// ends; nil otherwise.
	Items    map[StepStatus]int
	Progress *provider.Event
	// RunStatus is set on EventRunEnded.
	RunStatus RunStatus
	Duration  time.Duration
	DryRun    bool
	// Syncs is how many times the journal was synced, on EventRunEnded.
	Syncs int64
}

// Observer receives every event of a run. Implementations must be safe for
// concurrent use: steps run in parallel.
type Observer interface {
	Event(Event)
}

// ObserverFunc adapts a function to Observer.
type ObserverFunc func(Event)

// Event implements Observer.
func (f ObserverFunc) Event(e Event) { f(e) }
