package client

import (
	"context"
	"net/http"
	"net/url"
)

// Event and log item types.
const (
	EventTypeEvent = "cloudify_event"
	EventTypeLog   = "cloudify_log"
)

// The event_type of the events that end a workflow (cloudify-cli
// execution_events_fetcher.py WORKFLOW_END_TYPES).
const (
	EventWorkflowSucceeded = "workflow_succeeded"
	EventWorkflowFailed    = "workflow_failed"
	EventWorkflowCancelled = "workflow_cancelled"
)

// Event is an item of GET /events: an event (Type "cloudify_event", with
// EventType) or a log line (Type "cloudify_log", with Level and Logger).
type Event struct {
	Type                  string       `json:"type"`
	Timestamp             string       `json:"timestamp"`
	ReportedTimestamp     string       `json:"reported_timestamp"`
	Message               string       `json:"message"`
	EventType             string       `json:"event_type"`
	Level                 string       `json:"level"`
	Logger                string       `json:"logger"`
	ErrorCauses           []ErrorCause `json:"error_causes"`
	BlueprintID           string       `json:"blueprint_id"`
	DeploymentID          string       `json:"deployment_id"`
	DeploymentDisplayName string       `json:"deployment_display_name"`
	ExecutionID           string       `json:"execution_id"`
	ExecutionGroupID      string       `json:"execution_group_id"`
	WorkflowID            string       `json:"workflow_id"`
	Operation             string       `json:"operation"`
	NodeInstanceID        string       `json:"node_instance_id"`
	NodeName              string       `json:"node_name"`
	SourceID              string       `json:"source_id"`
	TargetID              string       `json:"target_id"`
	ManagerName           string       `json:"manager_name"`
	AgentName             string       `json:"agent_name"`
}

// IsLog reports whether the item is a log line rather than an event.
func (e *Event) IsLog() bool { return e.Type == EventTypeLog }

// EndsWorkflow reports whether the event says its workflow ended.
func (e *Event) EndsWorkflow() bool {
	switch e.EventType {
	case EventWorkflowSucceeded, EventWorkflowFailed, EventWorkflowCancelled:
		return true
	}
	return false
}

// ErrorCause is one cause of a failed task.
type ErrorCause struct {
	Message   string `json:"message"`
	Traceback string `json:"traceback"`
	Type      string `json:"type"`
}

// EventsService holds GET /events.
type EventsService struct{ c *Client }

// DefaultEventSort orders events for offset paging, as the Python client's
// events.get does.
const DefaultEventSort = "@timestamp"

// EventListOptions select events.
type EventListOptions struct {
	// ExecutionIDs match any of the executions.
	ExecutionIDs []string
	// IncludeLogs adds type=cloudify_log to type=cloudify_event.
	IncludeLogs bool
	// Offset and Size select a page; a poller passes the count it has seen
	// as Offset to get only new items. Size 0 leaves the server's default.
	Offset int
	Size   int
	// Sort defaults to DefaultEventSort.
	Sort string
	// From and To bound @timestamp (_range=@timestamp,From,To).
	From, To string
	// Filters are further equality filters (deployment_id, event_type,
	// level, ...).
	Filters url.Values
	// BypassMaintenance sends X-BYPASS-MAINTENANCE: /events is gated by
	// maintenance mode, except for users allowed maintenance_mode_set (the
	// header is ignored for others).
	BypassMaintenance bool
}

// List lists events and logs (GET /events).
func (s *EventsService) List(ctx context.Context, opts EventListOptions) (*List[Event], error) {
	lo := &ListOptions{Filters: opts.Filters, Offset: opts.Offset, Size: opts.Size, Sort: opts.Sort}
	if lo.Sort == "" {
		lo.Sort = DefaultEventSort
	}
	extra := url.Values{"type": {EventTypeEvent}}
	if opts.IncludeLogs {
		extra.Add("type", EventTypeLog)
	}
	if len(opts.ExecutionIDs) > 0 {
		extra["execution_id"] = append([]string(nil), opts.ExecutionIDs...)
	}
	if opts.From != "" || opts.To != "" {
		extra.Set("_range", "@timestamp,"+opts.From+","+opts.To)
	}
	var header http.Header
	if opts.BypassMaintenance {
		header = bypassHeader()
	}
	return list[Event](ctx, s.c, "/events", lo, extra, header)
}
