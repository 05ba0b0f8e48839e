package runbook

import (
	"sort"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/internal/state"
)

// RunView is a run as history shows it, rebuilt from its journal.
type RunView struct {
	Info    *state.RunInfo
	Status  string
	Started time.Time
	Ended   time.Time
	Resumed int
	Steps   []*StepView
	Outputs map[string]cty.Value
}

// StepView is one step (with its items, for for_each) in history.
type StepView struct {
	Addr     string
	Status   string
	Attempts int
	Started  time.Time
	Ended    time.Time
	Message  string
	Items    []*StepView
}

// Duration is how long the step ran, zero if it has not ended.
func (s *StepView) Duration() time.Duration {
	if s.Started.IsZero() || s.Ended.IsZero() {
		return 0
	}
	return s.Ended.Sub(s.Started)
}

// ViewRun rebuilds a run from its records. Sealed values are opened with
// sealer; without one they read as (sensitive).
func ViewRun(recs []state.Record, sealer *Sealer) *RunView {
	v := &RunView{Status: string(RunRunning), Outputs: map[string]cty.Value{}}
	steps := map[string]*StepView{}
	get := func(addr string) *StepView {
		s := steps[addr]
		if s == nil {
			s = &StepView{Addr: addr, Status: Pending.String()}
			steps[addr] = s
		}
		return s
	}
	for _, r := range recs {
		switch r.Type {
		case state.RunStarted:
			v.Info, v.Started = r.Run, r.Time
		case state.RunResumed:
			v.Resumed++
			v.Status, v.Ended = string(RunRunning), time.Time{}
		case state.RunEnded:
			v.Status, v.Ended = r.Status, r.Time
		case state.RunOutputs:
			if vals, err := decodeValues(r.Values, sealer); err == nil {
				v.Outputs = vals
			}
		case state.StepStarted:
			s := get(r.Step)
			s.Status, s.Started, s.Ended, s.Attempts, s.Message = Running.String(), r.Time, time.Time{}, max(r.Attempt, 1), ""
		case state.AttemptStarted:
			s := get(r.Step)
			s.Attempts = r.Attempt
		case state.AttemptFailed:
			get(r.Step).Message = r.Message
		case state.StepSucceeded, state.StepFailed, state.StepSkipped, state.StepCancelled, state.StepInterrupted:
			s := get(r.Step)
			s.Status, s.Ended, s.Message = stepStatusOf(r.Type), r.Time, r.Message
			if r.Attempt > 0 {
				s.Attempts = r.Attempt
			}
			if s.Started.IsZero() {
				s.Started = r.Time
			}
		}
	}
	v.Steps = groupItems(steps)
	return v
}

func stepStatusOf(t state.RecordType) string {
	switch t {
	case state.StepSucceeded:
		return Succeeded.String()
	case state.StepFailed:
		return Failed.String()
	case state.StepSkipped:
		return Skipped.String()
	case state.StepInterrupted:
		return "interrupted"
	}
	return Cancelled.String()
}

// groupItems nests for_each items under their step, steps ordered by start.
func groupItems(steps map[string]*StepView) []*StepView {
	for addr, s := range steps {
		if base := baseAddr(addr); base != addr && steps[base] == nil {
			steps[base] = &StepView{Addr: base, Status: Running.String(), Started: s.Started}
		}
	}
	var top []*StepView
	for addr, s := range steps {
		if base := baseAddr(addr); base != addr {
			steps[base].Items = append(steps[base].Items, s)
			continue
		}
		top = append(top, s)
	}
	byStart := func(list []*StepView) {
		sort.SliceStable(list, func(i, j int) bool {
			if !list[i].Started.Equal(list[j].Started) {
				return list[i].Started.Before(list[j].Started)
			}
			return list[i].Addr < list[j].Addr
		})
	}
	for _, s := range top {
		byStart(s.Items)
		if len(s.Items) > 0 { // a for_each step starts with its first item
			s.Started = s.Items[0].Started
		}
	}
	byStart(top)
	return top
}
