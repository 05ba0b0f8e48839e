package client

import (
	"context"
	"net/http"
	"reflect"
	"testing"
)

func TestExecutions(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v3.1/executions", func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Tenant") == "busy" {
			reply(w, 400, fixture(t, "executions", "error_running.json"))
			return
		}
		reply(w, 201, fixture(t, "executions", "start.json"))
	})
	mux.HandleFunc("GET /api/v3.1/executions", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, fixture(t, "executions", "list.json"))
	})
	mux.HandleFunc("GET /api/v3.1/executions/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, fixture(t, "executions", "start.json"))
	})
	mux.HandleFunc("POST /api/v3.1/executions/{id}", func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, fixture(t, "executions", "cancelled.json"))
	})
	f := newFake(t, mux)
	c := f.client(t)
	ctx := context.Background()

	t.Run("start", func(t *testing.T) {
		tests := []struct {
			name   string
			params map[string]any
			opts   StartOptions
			want   map[string]any
		}{
			{
				name:   "install_new_agents",
				params: map[string]any{"install": true, "node_ids": []any{}},
				want: map[string]any{
					"deployment_id": "dep1", "workflow_id": "install_new_agents",
					"parameters":              map[string]any{"install": true, "node_ids": []any{}},
					"allow_custom_parameters": "false", "force": "false", "dry_run": "false", "queue": "false",
				},
			},
			{
				name: "every option",
				opts: StartOptions{AllowCustomParameters: true, Force: true, DryRun: true, Queue: true, ScheduledTime: "202408121000+0000", WaitAfterFail: Int(30)},
				want: map[string]any{
					"deployment_id": "dep1", "workflow_id": "install_new_agents",
					"allow_custom_parameters": "true", "force": "true", "dry_run": "true", "queue": "true",
					"scheduled_time": "202408121000+0000", "wait_after_fail": 30.0,
				},
			},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e, err := c.Executions.Start(ctx, "dep1", "install_new_agents", tt.params, tt.opts)
				if err != nil {
					t.Fatal(err)
				}
				if e.ID != "33dd51d4-5e24-4034-8ed6-2150cdbd98f7" || e.Status != ExecutionPending || e.Ended() || e.Parameters["validate"] != true {
					t.Fatalf("execution = %+v", e)
				}
				if got := jsonBody(t, f.last(t).Body); !reflect.DeepEqual(got, tt.want) {
					t.Fatalf("body %v\nwant %v", got, tt.want)
				}
			})
		}
		busy := f.client(t, func(c *Config) { c.Tenant = "busy" })
		_, err := busy.Executions.Start(ctx, "dep1", "install", nil, StartOptions{})
		if ErrorCode(err) != CodeExistingRunningExecution || IsRetryable(err) {
			t.Fatalf("err = %v", err)
		}
		if _, err := c.Executions.Start(ctx, "dep1", "", nil, StartOptions{}); err == nil {
			t.Fatal("an empty workflow must be refused")
		}
	})

	t.Run("get", func(t *testing.T) {
		e, err := c.Executions.Get(ctx, "33dd51d4-5e24-4034-8ed6-2150cdbd98f7")
		if err != nil || e.WorkflowID != "install_new_agents" || e.DeploymentID != "dep1" || e.CreatedBy != "admin" {
			t.Fatalf("%+v %v", e, err)
		}
	})

	t.Run("list", func(t *testing.T) {
		l, err := c.Executions.List(ctx, ExecutionListOptions{
			DeploymentID: "dep1", WorkflowID: "install", Status: []string{"started", "pending"},
			IncludeSystemWorkflows: true, ListOptions: ListOptions{Include: []string{"id"}},
		})
		if err != nil || len(l.Items) != 2 || l.Items[1].ID != "ca3d7413-c8af-41a3-b864-571cef25899b" {
			t.Fatalf("%+v %v", l, err)
		}
		want := map[string][]string{
			"deployment_id": {"dep1"}, "workflow_id": {"install"}, "status": {"started", "pending"},
			"_include_system_workflows": {"true"}, "_include": {"id"},
		}
		if got := f.last(t).Query; !reflect.DeepEqual(got, want) {
			t.Fatalf("query %v, want %v", got, want)
		}
		// The Python client always sends the flag, false by default.
		if _, err := c.Executions.List(ctx, ExecutionListOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := f.last(t).Query["_include_system_workflows"]; !reflect.DeepEqual(got, []string{"false"}) {
			t.Fatalf("_include_system_workflows = %v", got)
		}
	})

	t.Run("cancel and resume", func(t *testing.T) {
		tests := []struct {
			name   string
			call   func() (*Execution, error)
			action string
		}{
			{"cancel", func() (*Execution, error) { return c.Executions.Cancel(ctx, "e1", false, false) }, "cancel"},
			{"force", func() (*Execution, error) { return c.Executions.Cancel(ctx, "e1", true, false) }, "force-cancel"},
			{"kill", func() (*Execution, error) { return c.Executions.Cancel(ctx, "e1", false, true) }, "kill"},
			{"kill wins", func() (*Execution, error) { return c.Executions.Cancel(ctx, "e1", true, true) }, "kill"},
			{"resume", func() (*Execution, error) { return c.Executions.Resume(ctx, "e1", false) }, "resume"},
			{"force resume", func() (*Execution, error) { return c.Executions.Resume(ctx, "e1", true) }, "force-resume"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				e, err := tt.call()
				if err != nil || e.Status != ExecutionCancelling {
					t.Fatalf("%+v %v", e, err)
				}
				r := f.last(t)
				if r.Method != "POST" || r.Path != "/api/v3.1/executions/e1" {
					t.Fatalf("%s %s", r.Method, r.Path)
				}
				if got := jsonBody(t, r.Body); !reflect.DeepEqual(got, map[string]any{"action": tt.action}) {
					t.Fatalf("body %v, want action %s", got, tt.action)
				}
			})
		}
	})
}

func TestExecutionEnded(t *testing.T) {
	ended := map[string]bool{
		"terminated": true, "failed": true, "cancelled": true,
		"pending": false, "started": false, "cancelling": false, "force_cancelling": false,
		"kill_cancelling": false, "queued": false, "scheduled": false,
	}
	for status, want := range ended {
		if ExecutionEnded(status) != want {
			t.Errorf("ExecutionEnded(%q) = %v", status, !want)
		}
	}
}

func TestEventsList(t *testing.T) {
	f := newFake(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reply(w, 200, fixture(t, "executions", "events_page1.json"))
	}))
	c := f.client(t)
	tests := []struct {
		name string
		opts EventListOptions
		want map[string][]string
	}{
		{
			name: "events only",
			opts: EventListOptions{ExecutionIDs: []string{"x"}},
			want: map[string][]string{"type": {"cloudify_event"}, "execution_id": {"x"}, "_sort": {"@timestamp"}},
		},
		{
			name: "with logs from an offset",
			opts: EventListOptions{ExecutionIDs: []string{"x", "y"}, IncludeLogs: true, Offset: 30, Size: 100, Sort: "reported_timestamp"},
			want: map[string][]string{
				"type": {"cloudify_event", "cloudify_log"}, "execution_id": {"x", "y"},
				"_offset": {"30"}, "_size": {"100"}, "_sort": {"reported_timestamp"},
			},
		},
		{
			name: "time range and filters",
			opts: EventListOptions{From: "2017-03-22T11:00:00Z", Filters: map[string][]string{"level": {"error"}}},
			want: map[string][]string{
				"type": {"cloudify_event"}, "_sort": {"@timestamp"}, "level": {"error"},
				"_range": {"@timestamp,2017-03-22T11:00:00Z,"},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := c.Events.List(context.Background(), tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if got := f.last(t); got.Path != "/api/v3.1/events" || !reflect.DeepEqual(got.Query, tt.want) {
				t.Fatalf("%s query %v\nwant %v", got.Path, got.Query, tt.want)
			}
			if len(l.Items) != 3 || l.Metadata.Pagination.Total != 4 {
				t.Fatalf("%d items, total %d", len(l.Items), l.Metadata.Pagination.Total)
			}
			logLine, failed := l.Items[0], l.Items[2]
			if !logLine.IsLog() || logLine.Level != "info" || logLine.Logger == "" || logLine.EventType != "" {
				t.Fatalf("log item %+v", logLine)
			}
			if failed.IsLog() || failed.EventType != "task_failed" || len(failed.ErrorCauses) != 1 || failed.ErrorCauses[0].Type != "NonRecoverableError" || failed.EndsWorkflow() {
				t.Fatalf("event item %+v", failed)
			}
		})
	}
}
