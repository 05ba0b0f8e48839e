package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"time"
)

// job is one measured command: what a phase's setup leaves ready to run.
type job struct {
	argv []string
	dir  string   // working directory
	env  []string // added to the environment
	// reset runs, untimed, before every repetition: it puts back what the
	// previous one changed (state, journal).
	reset func() error
	log   string // the command's stdout and stderr, for a failure's message
}

// errTimeout is a run cut short by -timeout, errInterrupted one cut
// short by Ctrl-C.
var (
	errTimeout     = errors.New("timed out")
	errInterrupted = errors.New("interrupted")
)

// sample is one timed run.
type sample struct {
	wall   time.Duration
	maxRSS int64 // bytes
}

// measure runs the job cfg.repeat times and summarises them. A timeout or
// a failure ends the repetitions: the next would only fail the same way.
func measure(ctx context.Context, cfg config, j *job, progress func(i int, s sample)) result {
	var samples []sample
	for i := range cfg.repeat {
		if j.reset != nil {
			if err := j.reset(); err != nil {
				return summarise(samples, "error", "reset: "+err.Error())
			}
		}
		s, err := runTimed(ctx, j, cfg.timeout)
		switch {
		case errors.Is(err, errTimeout):
			return summarise(samples, "timeout", "")
		case errors.Is(err, errInterrupted):
			return summarise(samples, "interrupted", "")
		case err != nil:
			return summarise(samples, "failed", err.Error())
		}
		samples = append(samples, s)
		progress(i, s)
	}
	return summarise(samples, "ok", "")
}

// summarise reports the median time of the samples and the largest peak
// memory of any of them.
func summarise(samples []sample, status, msg string) result {
	r := result{Status: status, Runs: len(samples), Error: msg}
	if len(samples) == 0 {
		return r
	}
	var times []float64
	for _, s := range samples {
		times = append(times, s.wall.Seconds())
		r.PeakMB = max(r.PeakMB, float64(s.maxRSS)/(1<<20))
	}
	r.TimesS = slices.Clone(times)
	slices.Sort(times)
	mid := len(times) / 2
	r.MedianS = times[mid]
	if len(times)%2 == 0 {
		r.MedianS = (times[mid-1] + times[mid]) / 2
	}
	return r
}

// runTimed runs the job once with its output to its log and returns the
// wall time of the whole process, from start to exit.
func runTimed(ctx context.Context, j *job, timeout time.Duration) (sample, error) {
	log, err := os.Create(j.log)
	if err != nil {
		return sample{}, err
	}
	defer func() { _ = log.Close() }() // the log only explains a failure
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := command(ctx, j)
	cmd.Stdout, cmd.Stderr = log, log
	start := time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return sample{}, errTimeout
	case ctx.Err() != nil:
		return sample{}, errInterrupted
	case err != nil:
		return sample{}, fmt.Errorf("%s: %w%s%s", strings.Join(j.argv, " "), err, keyLine(j.log), logTail(j.log))
	}
	return sample{wall: wall, maxRSS: maxRSS(cmd.ProcessState)}, nil
}

// command makes the job's process in its own process group, so that a
// timeout kills whatever it started too (Ansible's workers).
func command(ctx context.Context, j *job) *exec.Cmd {
	cmd := exec.CommandContext(ctx, j.argv[0], j.argv[1:]...)
	cmd.Dir = j.dir
	cmd.Env = append(cleanEnv(), j.env...)
	isolate(cmd)
	cmd.WaitDelay = 10 * time.Second
	return cmd
}

// cleanEnv is the environment without what an enclosing make passes down
// (`make bench-peers`): its jobserver and flags would change the make peer.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		for _, name := range []string{"MAKEFLAGS=", "MFLAGS=", "MAKELEVEL=", "MAKEOVERRIDES="} {
			if strings.HasPrefix(kv, name) {
				return true
			}
		}
		return false
	})
}

// logTail is the end of a failed command's output, for its message.
func logTail(path string) string {
	b, err := os.ReadFile(path)
	if err != nil || len(b) == 0 {
		return ""
	}
	b = bytes.TrimSpace(b)
	const most = 600
	if len(b) > most {
		b = b[len(b)-most:]
	}
	return "\n" + string(b)
}

// failureWords mark the line of a failed command's output that says why:
// the last one found, as tools print the cause last ("Failed to run task
// all: ...: Maximum task call exceeded").
var failureWords = []string{"error", "fail", "fatal", "exceeded", "refus"}

// keyLine is ": " and the last line of the log that names a failure, or
// "" if none does.
func keyLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	key := ""
	for line := range strings.Lines(string(b)) {
		lower := strings.ToLower(line)
		for _, w := range failureWords {
			if strings.Contains(lower, w) {
				key = strings.TrimSpace(line)
				break
			}
		}
	}
	if key == "" {
		return ""
	}
	return ": " + key
}

// runUntimed runs a setup command (init, the run resume continues) and
// returns its exit code; err is for a command that did not run to its end.
func runUntimed(ctx context.Context, j *job, timeout time.Duration) (int, error) {
	_, err := runTimed(ctx, j, timeout)
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), nil
	}
	if err != nil {
		return -1, err
	}
	return 0, nil
}
