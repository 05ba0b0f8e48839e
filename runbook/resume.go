package runbook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
	"github.com/runbook-dev/runbook/internal/state"
	"github.com/runbook-dev/runbook/plugins/provider"
)

// priorUnit is what a resumed run's journal says about one step or item.
type priorUnit struct {
	status    StepStatus
	outputs   map[string]cty.Value
	digest    string
	midFlight bool // started and never ended: the process died during it
	attempt   int
	started   time.Time // when the interrupted attempt began, for Check
}

// openJournal starts a new run's journal, or reopens the one being resumed
// and loads what it had done (its variables replace the given ones: a
// resumed run continues with the values it started with).
func (r *run) openJournal(ctx context.Context) error {
	if r.opts.ResumeID == "" {
		return r.createJournal(ctx)
	}
	j, recs, err := r.e.Backend.Open(ctx, r.opts.ResumeID)
	if err != nil {
		return err
	}
	r.journal = withFailpoint(j)
	if err := r.loadPrior(recs); err != nil {
		_ = j.Close()
		return err
	}
	if err := r.checkChanged(); err != nil {
		_ = j.Close()
		return err
	}
	if err := j.Append(ctx, &state.Record{Type: state.RunResumed}); err != nil {
		_ = j.Close()
		return fmt.Errorf("%w: %v", errJournal, err)
	}
	return nil
}

func (r *run) createJournal(ctx context.Context) error {
	info, err := runInfo(r.cfg, r.opts)
	if err != nil {
		return err
	}
	if info.Variables, err = encodeValues(r.opts.Vars, r.e.Sealer); err != nil {
		return fmt.Errorf("recording variables: %w", err)
	}
	r.id = info.ID
	j, err := r.e.Backend.Create(ctx, info)
	if err != nil {
		return err
	}
	r.journal = withFailpoint(j)
	return nil
}

// loadPrior replays a journal into per-unit state.
func (r *run) loadPrior(recs []state.Record) error {
	r.prior = map[string]*priorUnit{}
	r.id = r.opts.ResumeID
	for _, rec := range recs {
		switch rec.Type {
		case state.RunStarted:
			if rec.Run == nil {
				return fmt.Errorf("run %s: journal has no run header", r.id)
			}
			vars, err := decodeValues(rec.Run.Variables, r.e.Sealer)
			if err != nil {
				return fmt.Errorf("run %s: variables: %w", r.id, err)
			}
			r.opts.Vars, r.opts.DryRun = vars, rec.Run.DryRun
			if len(r.opts.Targets) == 0 {
				r.opts.Targets = rec.Run.Targets // a resumed run keeps its scope
			}
		case state.RunEnded:
			if rec.Status == string(RunFinished) {
				return fmt.Errorf("run %s already finished; there is nothing to resume", r.id)
			}
		case state.StepStarted, state.AttemptStarted:
			p := r.priorFor(rec.Step)
			p.midFlight, p.attempt, p.status, p.started = true, rec.Attempt, Running, rec.Time
		case state.StepSucceeded:
			vals, err := decodeValues(rec.Values, r.e.Sealer)
			if err != nil {
				return fmt.Errorf("run %s: outputs of %s: %w", r.id, rec.Step, err)
			}
			p := r.priorFor(rec.Step)
			*p = priorUnit{status: Succeeded, outputs: vals, digest: rec.Digest}
		case state.StepInterrupted: // still unsettled: ask again
			p := r.priorFor(rec.Step)
			p.midFlight, p.status = true, Failed
		case state.StepFailed, state.StepSkipped, state.StepCancelled:
			p := r.priorFor(rec.Step)
			p.status, p.midFlight = Failed, false
		}
	}
	return nil
}

func (r *run) priorFor(addr string) *priorUnit {
	p := r.prior[addr]
	if p == nil {
		p = &priorUnit{}
		r.prior[addr] = p
	}
	return p
}

// checkChanged refuses to resume when a step that already succeeded is no
// longer defined as it was: its outputs would not match the runbook.
func (r *run) checkChanged() error {
	var changed []string
	src := map[string][]byte{}
	for addr, p := range r.prior {
		if p.status != Succeeded || p.digest == "" {
			continue
		}
		n := r.g.Node(baseAddr(addr))
		if n == nil {
			changed = append(changed, addr+" (no longer in the runbook)")
			continue
		}
		if stepDigest(n, src) != p.digest {
			changed = append(changed, addr)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	sort.Strings(changed)
	return fmt.Errorf("cannot resume run %s: these finished steps changed since it ran: %s. "+
		"Restore their definitions, or start a new run", r.id, strings.Join(changed, ", "))
}

// stepDigest hashes a step's address and source text.
func stepDigest(n *Node, cache map[string][]byte) string {
	rng := n.Step.SrcRange
	b, ok := cache[rng.Filename]
	if !ok {
		b, _ = os.ReadFile(rng.Filename)
		cache[rng.Filename] = b
	}
	h := sha256.New()
	h.Write([]byte(n.Addr))
	if rng.Start.Byte >= 0 && rng.End.Byte <= len(b) && rng.Start.Byte <= rng.End.Byte {
		h.Write(b[rng.Start.Byte:rng.End.Byte])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// restore reuses what a resumed run already did for this unit. It returns
// true when the unit needs no further work. Finally steps are never
// restored: like a defer, they run at the end of every execution of the
// run, resumed ones included. --rerun STEP runs a succeeded step again.
func (r *run) restore(u *unit) bool {
	p := r.prior[u.addr]
	if p == nil || p.status != Succeeded || u.nr.n.Finally() || containsAddr(r.opts.Rerun, u.addr) {
		return false
	}
	out := outputsObject(p.outputs)
	nr := u.nr
	nr.counts[Succeeded]++
	if u.each != nil {
		nr.items[u.each.Each.Key.AsString()] = out
	} else {
		r.store.set(nr.n.Addr, out)
	}
	return true // execute reports the kept steps once, not one event each
}

func outputsObject(vals map[string]cty.Value) cty.Value {
	if len(vals) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(vals)
}

// interrupted decides what to do with a unit the crashed run left
// mid-flight: run it again when that is safe (idempotent action, or the
// operator said --rerun), adopt its effect when the provider's Check
// proves it happened, and otherwise stop and ask.
func (r *run) interrupted(ctx context.Context, u *unit, p provider.Provider, as *dsl.ActionSchema, inputs cty.Value) (cty.Value, bool, string) {
	prior := r.prior[u.addr]
	if prior == nil || !prior.midFlight {
		return cty.NilVal, false, ""
	}
	if (as != nil && as.Idempotent) || declaredIdempotent(inputs) || containsAddr(r.opts.Rerun, u.addr) {
		return cty.NilVal, false, ""
	}
	raw, paths := unmarkInputs(inputs)
	resp, err := p.Check(ctx, &provider.CheckRequest{Started: prior.started, Request: provider.Request{
		Action: u.nr.n.Step.Action.Action, Inputs: raw, SensitivePaths: paths, RunID: r.id, Step: u.addr,
	}})
	switch {
	case err == nil && resp.Result == provider.Applied:
		return markOutputs(resp.Outputs, len(paths) > 0), true, ""
	case err == nil && resp.Result == provider.NotApplied:
		return cty.NilVal, false, ""
	}
	why := "its provider cannot tell whether it took effect"
	if err != nil {
		why = "Check failed: " + err.Error()
	}
	return cty.NilVal, false, fmt.Sprintf("%s was interrupted mid-flight and %s; check the system, then resume with --rerun %s to run it again",
		u.addr, why, u.addr)
}

// declaredIdempotent reads core.exec's idempotent input.
func declaredIdempotent(inputs cty.Value) bool {
	if inputs.IsNull() || !inputs.Type().IsObjectType() || !inputs.Type().HasAttribute("idempotent") {
		return false
	}
	v, _ := inputs.GetAttr("idempotent").Unmark()
	return v.IsKnown() && !v.IsNull() && v.Type() == cty.Bool && v.True()
}
