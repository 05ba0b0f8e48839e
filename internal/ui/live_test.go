package ui

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/runbook-dev/runbook/runbook"
)

// syncBuffer is a bytes.Buffer the view's goroutines may write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestLiveViewPauseResume: a confirmation prompt pauses the view and
// resumes it; this crashed in bubbletea's input reader when the program
// had no input.
func TestLiveViewPauseResume(t *testing.T) {
	var out syncBuffer
	v := NewLiveView(&out)
	v.Event(runbook.Event{Type: runbook.EventRunStarted, RunID: "run-1", Time: time.Now()})
	for range 3 {
		v.Pause()
		v.Resume()
	}
	v.Event(runbook.Event{Type: runbook.EventStepStarted, Step: "step.a", Action: "core.exec", Time: time.Now()})
	v.Close()
	if s := out.String(); !bytes.Contains([]byte(s), []byte("Run run-1")) {
		t.Errorf("the view wrote %q", s)
	}
}
