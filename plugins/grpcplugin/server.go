package grpcplugin

import (
	"context"
	"fmt"
	"sync"
	"time"

	pb "github.com/runbook-dev/runbook/plugins/proto/pluginv1"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// Server serves a provider.Provider over the protocol.
type Server struct {
	pb.UnimplementedProviderServer
	impl provider.Provider

	mu      sync.Mutex
	cancels map[int]context.CancelFunc
	next    int
}

// NewServer wraps impl.
func NewServer(impl provider.Provider) *Server {
	return &Server{impl: impl, cancels: map[int]context.CancelFunc{}}
}

// track derives a context that Stop can cancel, for one call.
func (s *Server) track(ctx context.Context) (context.Context, func()) {
	ctx, cancel := context.WithCancel(ctx)
	s.mu.Lock()
	id := s.next
	s.next++
	s.cancels[id] = cancel
	s.mu.Unlock()
	return ctx, func() {
		s.mu.Lock()
		delete(s.cancels, id)
		s.mu.Unlock()
		cancel()
	}
}

// GetSchema implements the protocol.
func (s *Server) GetSchema(ctx context.Context, _ *pb.GetSchemaRequest) (*pb.GetSchemaResponse, error) {
	schema, err := s.impl.Schema(ctx)
	if err != nil {
		return nil, err
	}
	ps, err := encodeSchema(schema)
	if err != nil {
		return nil, fmt.Errorf("encoding the schema: %w", err)
	}
	return &pb.GetSchemaResponse{Schema: ps}, nil
}

// Configure implements the protocol.
func (s *Server) Configure(ctx context.Context, req *pb.ConfigureRequest) (*pb.ConfigureResponse, error) {
	cfg, err := decodeValue(req.Config)
	if err != nil {
		return &pb.ConfigureResponse{Error: encodeError(err)}, nil
	}
	return &pb.ConfigureResponse{Error: encodeError(s.impl.Configure(ctx, cfg))}, nil
}

// Validate implements the protocol; a provider without the Validator
// capability finds nothing beyond its schema.
func (s *Server) Validate(ctx context.Context, req *pb.ValidateRequest) (*pb.ValidateResponse, error) {
	v, ok := s.impl.(provider.Validator)
	if !ok {
		return &pb.ValidateResponse{}, nil
	}
	inputs, err := decodeValue(req.Inputs)
	if err != nil {
		return nil, err
	}
	diags, err := v.Validate(ctx, req.Action, inputs)
	if err != nil {
		return nil, err
	}
	return &pb.ValidateResponse{Diagnostics: encodeDiags(diags)}, nil
}

func (s *Server) request(req *pb.ActionRequest) (*provider.Request, error) {
	inputs, err := decodeValue(req.Inputs)
	if err != nil {
		return nil, err
	}
	return &provider.Request{Action: req.Action, Inputs: inputs, SensitivePaths: decodePaths(req.SensitivePaths),
		RunID: req.RunId, Step: req.Step}, nil
}

func response(resp *provider.Response, err error) *pb.ActionResponse {
	if err != nil {
		return &pb.ActionResponse{Error: encodeError(err)}
	}
	if resp == nil {
		return &pb.ActionResponse{}
	}
	out, eerr := encodeValue(resp.Outputs)
	if eerr != nil {
		return &pb.ActionResponse{Error: encodeError(fmt.Errorf("encoding the outputs: %w", eerr))}
	}
	return &pb.ActionResponse{Outputs: out}
}

// Plan implements the protocol.
func (s *Server) Plan(ctx context.Context, req *pb.ActionRequest) (*pb.ActionResponse, error) {
	ctx, done := s.track(ctx)
	defer done()
	r, err := s.request(req)
	if err != nil {
		return &pb.ActionResponse{Error: encodeError(err)}, nil
	}
	return response(s.impl.Plan(ctx, r)), nil
}

// Apply implements the protocol: events stream as the action reports
// them, the result comes last.
func (s *Server) Apply(req *pb.ActionRequest, stream pb.Provider_ApplyServer) error {
	ctx, done := s.track(stream.Context())
	defer done()
	r, err := s.request(req)
	if err != nil {
		return stream.Send(&pb.ApplyEvent{Event: &pb.ApplyEvent_Result{Result: &pb.ActionResponse{Error: encodeError(err)}}})
	}
	var mu sync.Mutex // providers may report from several goroutines
	finished := false // gRPC forbids sending on a stream after it ends
	r.Events = func(ev provider.Event) {
		mu.Lock()
		defer mu.Unlock()
		if !finished {
			_ = stream.Send(encodeEvent(ev)) // a lost progress line is not the action's failure
		}
	}
	resp, err := s.impl.Apply(ctx, r)
	mu.Lock()
	defer mu.Unlock()
	finished = true
	return stream.Send(&pb.ApplyEvent{Event: &pb.ApplyEvent_Result{Result: response(resp, err)}})
}

func encodeEvent(ev provider.Event) *pb.ApplyEvent {
	if ev.Kind == provider.EventProgress {
		return &pb.ApplyEvent{Event: &pb.ApplyEvent_Progress{Progress: &pb.ProgressEvent{
			Done: ev.Done, Total: ev.Total, Unit: ev.Unit, Message: ev.Message}}}
	}
	return &pb.ApplyEvent{Event: &pb.ApplyEvent_Log{Log: &pb.LogEvent{Level: ev.Level, Message: ev.Message}}}
}

// Check implements the protocol.
func (s *Server) Check(ctx context.Context, req *pb.CheckRequest) (*pb.CheckResponse, error) {
	ctx, done := s.track(ctx)
	defer done()
	if req.Request == nil {
		return &pb.CheckResponse{Error: &pb.Error{Message: "check request without a request"}}, nil
	}
	r, err := s.request(req.Request)
	if err != nil {
		return &pb.CheckResponse{Error: encodeError(err)}, nil
	}
	started := time.Time{}
	if req.StartedUnixNano != 0 {
		started = time.Unix(0, req.StartedUnixNano)
	}
	resp, err := s.impl.Check(ctx, &provider.CheckRequest{Request: *r, Started: started})
	if err != nil {
		return &pb.CheckResponse{Error: encodeError(err)}, nil
	}
	out, err := encodeValue(resp.Outputs)
	if err != nil {
		return &pb.CheckResponse{Error: encodeError(err)}, nil
	}
	return &pb.CheckResponse{Result: pb.CheckResponse_Result(resp.Result), Outputs: out}, nil
}

// Stop cancels every call in flight, then tells the provider.
func (s *Server) Stop(ctx context.Context, _ *pb.StopRequest) (*pb.StopResponse, error) {
	s.mu.Lock()
	for _, cancel := range s.cancels {
		cancel()
	}
	s.mu.Unlock()
	if st, ok := s.impl.(provider.Stopper); ok {
		if err := st.Stop(ctx); err != nil {
			return nil, err
		}
	}
	return &pb.StopResponse{}, nil
}
