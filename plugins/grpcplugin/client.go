package grpcplugin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/zclconf/go-cty/cty"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/runbook-dev/runbook/dsl"
	pb "github.com/runbook-dev/runbook/plugins/proto/pluginv1"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// Client is a provider.Provider that calls a plugin over gRPC.
type Client struct {
	c pb.ProviderClient
}

var (
	_ provider.Provider  = (*Client)(nil)
	_ provider.Validator = (*Client)(nil)
	_ provider.Stopper   = (*Client)(nil)
)

// NewClient wraps a protocol client.
func NewClient(c pb.ProviderClient) *Client { return &Client{c: c} }

// Schema implements provider.Provider.
func (c *Client) Schema(ctx context.Context) (*dsl.ProviderSchema, error) {
	resp, err := c.c.GetSchema(ctx, &pb.GetSchemaRequest{})
	if err != nil {
		return nil, transportError(ctx, err)
	}
	return decodeSchema(resp.Schema)
}

// Configure implements provider.Provider.
func (c *Client) Configure(ctx context.Context, config cty.Value) error {
	cfg, err := encodeValue(config)
	if err != nil {
		return err
	}
	resp, err := c.c.Configure(ctx, &pb.ConfigureRequest{Config: cfg})
	if err != nil {
		return transportError(ctx, err)
	}
	return decodeError(resp.Error)
}

// Validate implements provider.Validator.
func (c *Client) Validate(ctx context.Context, action string, inputs cty.Value) ([]provider.Diagnostic, error) {
	in, err := encodeValue(inputs)
	if err != nil {
		return nil, err
	}
	resp, err := c.c.Validate(ctx, &pb.ValidateRequest{Action: action, Inputs: in})
	if err != nil {
		return nil, transportError(ctx, err)
	}
	return decodeDiags(resp.Diagnostics), nil
}

func encodeRequest(req *provider.Request) (*pb.ActionRequest, error) {
	in, err := encodeValue(req.Inputs)
	if err != nil {
		return nil, fmt.Errorf("encoding the inputs: %w", err)
	}
	return &pb.ActionRequest{Action: req.Action, Inputs: in, SensitivePaths: encodePaths(req.SensitivePaths),
		RunId: req.RunID, Step: req.Step}, nil
}

func decodeResponse(r *pb.ActionResponse) (*provider.Response, error) {
	if r == nil {
		return nil, errors.New("the provider sent no result")
	}
	if r.Error != nil {
		return nil, decodeError(r.Error)
	}
	out, err := decodeValue(r.Outputs)
	if err != nil {
		return nil, err
	}
	return &provider.Response{Outputs: out}, nil
}

// Plan implements provider.Provider.
func (c *Client) Plan(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	preq, err := encodeRequest(req)
	if err != nil {
		return nil, err
	}
	resp, err := c.c.Plan(ctx, preq)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	return decodeResponse(resp)
}

// Apply implements provider.Provider: it relays the stream's events to
// req.Events and returns the final result.
func (c *Client) Apply(ctx context.Context, req *provider.Request) (*provider.Response, error) {
	preq, err := encodeRequest(req)
	if err != nil {
		return nil, err
	}
	stream, err := c.c.Apply(ctx, preq)
	if err != nil {
		return nil, transportError(ctx, err)
	}
	for {
		ev, err := stream.Recv()
		if err == io.EOF {
			return nil, errors.New("the provider ended Apply without a result")
		}
		if err != nil {
			return nil, transportError(ctx, err)
		}
		switch e := ev.Event.(type) {
		case *pb.ApplyEvent_Result:
			return decodeResponse(e.Result)
		case *pb.ApplyEvent_Log:
			emit(req, provider.Event{Kind: provider.EventLog, Level: e.Log.Level, Message: e.Log.Message})
		case *pb.ApplyEvent_Progress:
			p := e.Progress
			emit(req, provider.Event{Kind: provider.EventProgress, Done: p.Done, Total: p.Total, Unit: p.Unit, Message: p.Message})
		}
	}
}

func emit(req *provider.Request, ev provider.Event) {
	if req.Events != nil {
		req.Events(ev)
	}
}

// Check implements provider.Provider.
func (c *Client) Check(ctx context.Context, req *provider.CheckRequest) (*provider.CheckResponse, error) {
	preq, err := encodeRequest(&req.Request)
	if err != nil {
		return nil, err
	}
	resp, err := c.c.Check(ctx, &pb.CheckRequest{Request: preq, StartedUnixNano: unixNano(req.Started)})
	if err != nil {
		return nil, transportError(ctx, err)
	}
	if resp.Error != nil {
		return nil, decodeError(resp.Error)
	}
	out, err := decodeValue(resp.Outputs)
	if err != nil {
		return nil, err
	}
	return &provider.CheckResponse{Result: provider.CheckResult(resp.Result), Outputs: out}, nil
}

// unixNano is 0 for the zero time, whose UnixNano is undefined.
func unixNano(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// transportError turns a failed call into what the engine understands:
// the context's own error when it was cancelled or timed out, and a
// retryable provider error when the plugin process is gone (the host
// relaunches it for the next attempt).
func transportError(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if status.Code(err) == codes.Unavailable {
		return &provider.Error{Message: "the provider process is gone", Retryable: true, Err: err}
	}
	return err
}

// Stop implements provider.Stopper.
func (c *Client) Stop(ctx context.Context) error {
	_, err := c.c.Stop(ctx, &pb.StopRequest{})
	return transportError(ctx, err)
}

// Close does nothing: the plugin process belongs to the host, which stops
// it.
func (c *Client) Close() error { return nil }
