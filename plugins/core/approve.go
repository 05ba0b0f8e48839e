package core

import (
	"context"
	"errors"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/plugins/provider"
)

// errNoApprover is the message when no operator can answer.
const errNoApprover = "approve needs an operator: run on a terminal or pass --auto-approve"

func parseApprove(c *call) (string, error) {
	msg, ok := c.str("message")
	if ok && strings.TrimSpace(msg) == "" {
		return "", attrErr(cty.GetAttrPath("message"), "message must say what the operator must do or confirm")
	}
	return msg, nil
}

// planApprove never asks: approved_by is unknown until apply.
func planApprove(_ context.Context, c *call) (cty.Value, error) {
	if _, err := parseApprove(c); err != nil {
		return cty.NilVal, err
	}
	return unknownOutputs(c), nil
}

// applyApprove asks Options.Approver. The message it shows has sensitive
// values redacted like any other text core prints.
func applyApprove(ctx context.Context, c *call) (cty.Value, error) {
	msg, err := parseApprove(c)
	if err != nil {
		return cty.NilVal, err
	}
	if c.p.opts.Approver == nil {
		return cty.NilVal, provider.Errorf("%s", errNoApprover)
	}
	by, err := c.p.opts.Approver(ctx, c.red.Redact(msg))
	if err != nil {
		if ctx.Err() != nil {
			return cty.NilVal, ctxError(ctx, "approval")
		}
		var pe *provider.Error
		if errors.As(err, &pe) {
			return cty.NilVal, err
		}
		return cty.NilVal, &provider.Error{Message: "not approved", Err: err}
	}
	c.log("info", "approved by %s", by)
	return cty.ObjectVal(map[string]cty.Value{"approved_by": cty.StringVal(by)}), nil
}
