package client

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const fastPoll = 5 * time.Millisecond

// execSim plays one execution and its events: each GET of the execution
// moves it on and publishes more events; the workflow_succeeded event shows
// up only on the second events request after the execution ended, so that
// WaitExecution must take its extra round. One execution GET and one events
// request answer 503.
type execSim struct {
	mu         sync.Mutex
	gets       int
	published  int // events visible
	ended      bool
	afterEnd   int // events requests since the end was reported
	endVisible bool
	listCalls  int
	queries    []map[string][]string
	final      string
}

const simEvents = 250

func (s *execSim) event(i int) string {
	return fmt.Sprintf(`{"type": "cloudify_log", "level": "info", "message": "event-%d", "execution_id": "e1", "timestamp": "2024-08-12T10:00:%02d.000Z"}`, i, i%60)
}

func (s *execSim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.URL.Path {
	case "/api/v3.1/executions/e1":
		s.gets++
		status := ExecutionStarted
		switch s.gets {
		case 1:
			status = ExecutionPending
		case 2:
			s.published = 150
		case 3:
			reply(w, 503, []byte(`{"message": "busy", "error_code": "internal_server_error"}`))
			return
		case 4:
			s.published = 240
		default:
			s.published = simEvents
			status = s.final
			s.ended = true
		}
		reply(w, 200, []byte(`{"id": "e1", "workflow_id": "restore_snapshot", "status": "`+status+`", "error": "Traceback (most recent call last):\n  File x\nRuntimeError: restore failed\n"}`))
	case "/api/v3.1/events":
		s.listCalls++
		s.queries = append(s.queries, r.URL.Query())
		if s.listCalls == 2 {
			w.WriteHeader(502)
			return
		}
		if s.ended {
			s.afterEnd++
			if s.afterEnd >= 2 {
				s.endVisible = true
			}
		}
		items := make([]string, 0, simEvents+1)
		for i := range s.published {
			items = append(items, s.event(i))
		}
		if s.endVisible {
			items = append(items, `{"type": "cloudify_event", "event_type": "workflow_succeeded", "message": "end", "execution_id": "e1"}`)
		}
		off, _ := strconv.Atoi(r.URL.Query().Get("_offset"))
		size, _ := strconv.Atoi(r.URL.Query().Get("_size"))
		page := items[min(off, len(items)):min(off+size, len(items))]
		reply(w, 200, []byte(fmt.Sprintf(`{"items": [%s], "metadata": {"pagination": {"total": %d, "offset": %d, "size": %d}}}`,
			strings.Join(page, ","), len(items), off, size)))
	default:
		reply(w, 404, []byte(`{"message": "not found", "error_code": "not_found_error"}`))
	}
}

func TestWaitExecution(t *testing.T) {
	tests := []struct {
		final   string
		wantErr string
	}{
		{final: ExecutionTerminated},
		{final: ExecutionFailed, wantErr: "manager execution e1 (restore_snapshot) failed: RuntimeError: restore failed"},
		{final: ExecutionCancelled, wantErr: "cancelled"},
	}
	for _, tt := range tests {
		t.Run(tt.final, func(t *testing.T) {
			sim := &execSim{final: tt.final}
			f := newFake(t, sim)
			c := f.client(t)
			var got []string
			exec, err := c.WaitExecution(context.Background(), "e1", fastPoll, func(e Event) { got = append(got, e.Message) })
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" {
				var ee *ExecutionError
				if !errors.As(err, &ee) || !strings.Contains(err.Error(), tt.wantErr) || ee.Status != tt.final || IsRetryable(err) {
					t.Fatalf("err = %v, want *ExecutionError %q", err, tt.wantErr)
				}
			}
			if exec == nil || exec.Status != tt.final {
				t.Fatalf("exec = %+v", exec)
			}
			want := make([]string, 0, simEvents+1)
			for i := range simEvents {
				want = append(want, fmt.Sprintf("event-%d", i))
			}
			want = append(want, "end")
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %d events (first %v, last %v), want each of the %d in order once", len(got), head(got), tail(got), len(want))
			}
			sim.mu.Lock()
			defer sim.mu.Unlock()
			q := sim.queries[0]
			if !reflect.DeepEqual(q["execution_id"], []string{"e1"}) || !reflect.DeepEqual(q["type"], []string{"cloudify_event", "cloudify_log"}) || !reflect.DeepEqual(q["_size"], []string{"100"}) {
				t.Fatalf("events query %v", q)
			}
		})
	}
}

func head(s []string) []string { return s[:min(3, len(s))] }
func tail(s []string) []string { return s[max(0, len(s)-3):] }

func TestWaitExecutionErrors(t *testing.T) {
	t.Run("not found is final", func(t *testing.T) {
		f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reply(w, 404, []byte(`{"message": "Requested Execution with ID nope was not found", "error_code": "not_found_error", "server_traceback": null}`))
		}))
		_, err := f.client(t).WaitExecution(context.Background(), "nope", fastPoll, nil)
		if !IsNotFound(err) || len(f.all()) != 1 {
			t.Fatalf("err = %v after %d requests", err, len(f.all()))
		}
	})
	t.Run("outage until the deadline", func(t *testing.T) {
		f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reply(w, 503, fixture(t, "maintenance", "error_maintenance.json"))
		}))
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		_, err := f.client(t).WaitExecution(ctx, "e1", fastPoll, nil)
		if !errors.Is(err, context.DeadlineExceeded) || IsRetryable(err) || !strings.Contains(err.Error(), "maintenance_mode_active") {
			t.Fatalf("err = %v", err)
		}
		if len(f.all()) < 3 {
			t.Fatalf("only %d polls", len(f.all()))
		}
	})
}

func TestWaitSnapshotRestoreThroughErrors(t *testing.T) {
	answers := []struct {
		status int
		body   string
	}{
		{502, "<html><head><title>502 Bad Gateway</title></head></html>"},
		{503, `{"message": "Your request was rejected since Cloudify manager is currently in maintenance mode", "error_code": "maintenance_mode_active", "server_traceback": null}`},
		{200, `{"status": "running"}`},
		{504, ""},
		{200, `{"status": "Snapshot restore in progress...\nThis may take a while, depending on the snapshot size."}`},
		{200, `{"status": "not-running"}`},
	}
	n := newGuarded(0)
	f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.get()
		n.set(i + 1)
		a := answers[min(i, len(answers)-1)]
		reply(w, a.status, []byte(a.body))
	}))
	st, err := f.client(t).WaitSnapshotRestore(context.Background(), fastPoll)
	if err != nil || st.Running || st.Status != SnapshotStatusNotRunning {
		t.Fatalf("%+v %v", st, err)
	}
	if got := len(f.all()); got != len(answers) {
		t.Fatalf("%d polls, want %d", got, len(answers))
	}
	for _, r := range f.all() {
		if r.Path != "/api/v3.1/snapshot-status" || r.Header.Get("Authorization") != "" {
			t.Fatalf("poll %s with Authorization %q", r.Path, r.Header.Get("Authorization"))
		}
	}
}

// countingDialer counts refused dials, so that the test knows the window of
// refused connections really happened.
type countingDialer struct {
	d       net.Dialer
	mu      sync.Mutex
	refused int
}

func (c *countingDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := c.d.DialContext(ctx, network, addr)
	if err != nil {
		c.mu.Lock()
		c.refused++
		c.mu.Unlock()
	}
	return conn, err
}

// The manager goes away (the restore restarts it) and comes back on the same
// port: WaitSnapshotRestore keeps polling through the refused connections.
func TestWaitSnapshotRestoreSurvivesRestart(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // down from the start

	dialer := &countingDialer{}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = dialer.DialContext
	c, err := New(Config{Endpoint: "http://" + addr, Username: "admin", Password: "admin", HTTPClient: &http.Client{Transport: tr}})
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	type result struct {
		st  *SnapshotStatus
		err error
	}
	done := make(chan result, 1)
	go func() {
		st, err := c.WaitSnapshotRestore(ctx, 10*time.Millisecond)
		done <- result{st, err}
	}()

	// Let it meet refused connections, then come back on the same port.
	deadline := time.Now().Add(2 * time.Second)
	for {
		dialer.mu.Lock()
		refused := dialer.refused
		dialer.mu.Unlock()
		if refused >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the waiter never hit the refused port")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var l2 net.Listener
	for i := 0; ; i++ {
		l2, err = net.Listen("tcp", addr)
		if err == nil {
			break
		}
		if i == 50 {
			t.Skipf("cannot listen on %s again: %v", addr, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	polls := newGuarded(0)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := polls.get() + 1
		polls.set(n)
		if n < 3 {
			reply(w, 200, []byte(`{"status": "running"}`))
			return
		}
		reply(w, 200, []byte(`{"status": "not-running"}`))
	})}
	go srv.Serve(l2)
	defer srv.Close()

	select {
	case r := <-done:
		if r.err != nil || r.st.Running {
			t.Fatalf("%+v %v", r.st, r.err)
		}
	case <-ctx.Done():
		t.Fatal("WaitSnapshotRestore did not return after the manager came back")
	}
	if polls.get() != 3 {
		t.Fatalf("%d polls after the restart, want 3", polls.get())
	}
}

func TestWaitSnapshotRestoreErrors(t *testing.T) {
	t.Run("404 is final", func(t *testing.T) {
		f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(404)
		}))
		_, err := f.client(t).WaitSnapshotRestore(context.Background(), fastPoll)
		if !IsNotFound(err) || len(f.all()) != 1 {
			t.Fatalf("err = %v after %d polls", err, len(f.all()))
		}
	})
	t.Run("running until the deadline", func(t *testing.T) {
		f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			reply(w, 200, fixture(t, "snapshots", "status_running.json"))
		}))
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Millisecond)
		defer cancel()
		_, err := f.client(t).WaitSnapshotRestore(ctx, fastPoll)
		if !errors.Is(err, context.DeadlineExceeded) || strings.Contains(err.Error(), "last error") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestWaitMaintenance(t *testing.T) {
	seq := []struct {
		status  int
		fixture string
	}{
		{200, "activating.json"},
		{503, "error_maintenance.json"},
		{200, "activating.json"},
		{200, "activated.json"},
	}
	n := newGuarded(0)
	f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := n.get()
		n.set(i + 1)
		s := seq[min(i, len(seq)-1)]
		reply(w, s.status, fixture(t, "maintenance", s.fixture))
	}))
	c := f.client(t)
	st, err := c.WaitMaintenance(context.Background(), MaintenanceActivated, fastPoll)
	if err != nil || st.Status != MaintenanceActivated || len(f.all()) != len(seq) {
		t.Fatalf("%+v %v after %d polls", st, err, len(f.all()))
	}
	if _, err := c.WaitMaintenance(context.Background(), "on", fastPoll); err == nil {
		t.Fatal("an unknown status must be refused")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	st, err = c.WaitMaintenance(ctx, MaintenanceDeactivated, fastPoll)
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "last status activated") || st == nil {
		t.Fatalf("%+v %v", st, err)
	}
}

// restoreSim answers /snapshot-status and the restore execution from a
// script of steps, one per /snapshot-status poll.
type restoreStep struct {
	status     int    // of /snapshot-status; 0 means 200
	running    bool   // its answer when 200
	execStatus string // GET /executions/r1: an execution status, or "404", "401", "503"
}

func restoreServer(t *testing.T, steps []restoreStep) *fake {
	i := newGuarded(0)
	return newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := i.get()
		switch r.URL.Path {
		case "/api/v3.1/snapshot-status":
			i.set(n + 1)
			s := steps[min(n, len(steps)-1)]
			switch {
			case s.status != 0:
				w.WriteHeader(s.status)
			case s.running:
				reply(w, 200, fixture(t, "snapshots", "status_running.json"))
			default:
				reply(w, 200, fixture(t, "snapshots", "status_not_running.json"))
			}
		case "/api/v3.1/executions/r1":
			if r.Header.Get("X-BYPASS-MAINTENANCE") != "true" {
				reply(w, 503, fixture(t, "maintenance", "error_maintenance.json"))
				return
			}
			s := steps[min(max(n-1, 0), len(steps)-1)]
			switch s.execStatus {
			case "404":
				reply(w, 404, []byte(`{"message": "not found", "error_code": "not_found_error"}`))
			case "401":
				reply(w, 401, []byte(`{"message": "User unauthorized", "error_code": "unauthorized_error"}`))
			case "503":
				reply(w, 503, fixture(t, "maintenance", "error_maintenance.json"))
			default:
				reply(w, 200, []byte(`{"id": "r1", "status": "`+s.execStatus+`", "error": "boom"}`))
			}
		default:
			w.WriteHeader(404)
		}
	}))
}

func TestWaitRestore(t *testing.T) {
	tests := []struct {
		name      string
		steps     []restoreStep
		wantPolls int
		wantErr   string
	}{
		{
			name: "pending, running, restart, done",
			steps: []restoreStep{
				{execStatus: ExecutionPending}, // not-running only because it has not started
				{execStatus: ExecutionPending},
				{running: true},
				{status: 502},
				{status: 503},
				{running: true},
				{execStatus: ExecutionTerminated},
			},
			wantPolls: 7,
		},
		{
			name: "failed after running",
			steps: []restoreStep{
				{running: true},
				{execStatus: ExecutionFailed},
			},
			wantPolls: 2, wantErr: "failed: boom",
		},
		{
			name: "never seen running, execution ended",
			steps: []restoreStep{
				{execStatus: ExecutionStarted},
				{execStatus: ExecutionTerminated},
			},
			wantPolls: 2,
		},
		{
			name:      "never seen running, execution failed",
			steps:     []restoreStep{{execStatus: ExecutionFailed}},
			wantPolls: 1, wantErr: "failed",
		},
		{
			name: "never seen running, database replaced",
			steps: []restoreStep{
				{execStatus: "503"},
				{execStatus: "404"},
			},
			wantPolls: 2,
		},
		{
			name:      "never seen running, credentials replaced",
			steps:     []restoreStep{{execStatus: "401"}},
			wantPolls: 1,
		},
		{
			name: "after the restore the execution is unknown",
			steps: []restoreStep{
				{running: true},
				{execStatus: "401"},
			},
			wantPolls: 2,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := restoreServer(t, tt.steps)
			st, err := f.client(t).WaitRestore(context.Background(), "r1", fastPoll)
			if tt.wantErr != "" {
				var ee *ExecutionError
				if !errors.As(err, &ee) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want *ExecutionError %q", err, tt.wantErr)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if st == nil || st.Running {
				t.Fatalf("status %+v", st)
			}
			polls := 0
			for _, r := range f.all() {
				if r.Path == "/api/v3.1/snapshot-status" {
					polls++
				}
			}
			if polls != tt.wantPolls {
				t.Fatalf("%d polls, want %d", polls, tt.wantPolls)
			}
		})
	}
	if _, err := (&Client{}).WaitRestore(context.Background(), "", fastPoll); err == nil {
		t.Fatal("an empty execution id must be refused")
	}
}

// The wait helpers follow an execution through maintenance mode, which
// gates /executions and /events unless X-BYPASS-MAINTENANCE comes from a
// user allowed maintenance_mode_set (manager_rest/maintenance.py).
func TestWaitExecutionInMaintenanceMode(t *testing.T) {
	f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-BYPASS-MAINTENANCE") != "true" {
			reply(w, 503, fixture(t, "maintenance", "error_maintenance.json"))
			return
		}
		switch r.URL.Path {
		case "/api/v3.1/executions/c1":
			reply(w, 200, []byte(`{"id": "c1", "workflow_id": "create_snapshot", "status": "terminated"}`))
		case "/api/v3.1/events":
			reply(w, 200, []byte(`{"items": [{"type": "cloudify_event", "event_type": "workflow_succeeded", "message": "done"}], "metadata": {"pagination": {"total": 1, "offset": 0, "size": 100}}}`))
		}
	}))
	c := f.client(t)
	e, err := c.WaitExecution(context.Background(), "c1", fastPoll, nil)
	if err != nil || e.Status != ExecutionTerminated {
		t.Fatalf("%+v %v", e, err)
	}
	// The plain calls do not bypass.
	if _, err := c.Executions.Get(context.Background(), "c1"); ErrorCode(err) != CodeMaintenanceModeActive {
		t.Fatalf("Get: %v", err)
	}
	if _, err := c.Events.List(context.Background(), EventListOptions{}); ErrorCode(err) != CodeMaintenanceModeActive {
		t.Fatalf("Events.List: %v", err)
	}
}
