package core_test

import (
	"context"
	"errors"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/core"
)

func TestApprove(t *testing.T) {
	var asked []string
	approver := func(answer string, err error) func(context.Context, string) (string, error) {
		return func(_ context.Context, msg string) (string, error) {
			asked = append(asked, msg)
			return answer, err
		}
	}
	tests := []struct {
		name      string
		approver  func(context.Context, string) (string, error)
		message   string
		sensitive bool
		wantBy    string
		wantErr   string
		wantAsked string
	}{
		{name: "approved", approver: approver("alice", nil), message: "Restore the snapshot?", wantBy: "alice", wantAsked: "Restore the snapshot?"},
		{name: "refused", approver: approver("", errors.New("operator said no")), message: "Go?", wantErr: "operator said no", wantAsked: "Go?"},
		{name: "no operator", message: "Go?", wantErr: "approve needs an operator: run on a terminal or pass --auto-approve"},
		{name: "empty message", approver: approver("bob", nil), message: "  ", wantErr: "message must say"},
		{name: "sensitive message", approver: approver("carol", nil), message: "Use password s3cr3t", sensitive: true, wantBy: "carol", wantAsked: "(sensitive)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			asked = nil
			p := core.New(core.Options{Approver: tt.approver})
			r := request(t, "approve", map[string]cty.Value{"message": cty.StringVal(tt.message)})
			if tt.sensitive {
				r.SensitivePaths = []cty.Path{cty.GetAttrPath("message")}
			}
			// Plan never asks.
			if _, err := plan(t, p, r); err == nil && len(asked) > 0 {
				t.Fatalf("Plan asked %q", asked)
			}
			out, err := apply(t, p, r)
			if tt.wantErr != "" {
				wantErr(t, err, false, tt.wantErr)
			} else if err != nil {
				t.Fatal(err)
			} else if got := str(t, out, "approved_by"); got != tt.wantBy {
				t.Errorf("approved_by = %q, want %q", got, tt.wantBy)
			}
			if tt.wantAsked != "" && (len(asked) != 1 || asked[0] != tt.wantAsked) {
				t.Errorf("asked %q, want %q", asked, tt.wantAsked)
			}
		})
	}
}

func TestApproveCancel(t *testing.T) {
	p := core.New(core.Options{Approver: func(ctx context.Context, _ string) (string, error) {
		<-ctx.Done()
		return "", ctx.Err()
	}})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Apply(ctx, request(t, "approve", map[string]cty.Value{"message": cty.StringVal("Go?")}))
	wantErr(t, err, false, "cancelled")
	if !errors.Is(err, context.Canceled) {
		t.Errorf("%v is not context.Canceled", err)
	}
}
