package runbook

import (
	"fmt"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbook-dev/runbook/dsl"
)

// Plan is what `runbook plan` shows: every step in execution order with its
// evaluated inputs, then the outputs, the critical path and the estimate.
type Plan struct {
	Runbook      *dsl.RunbookBlock
	Steps        []*PlannedStep
	Outputs      []*PlannedValue
	CriticalPath []string
	Estimate     time.Duration
	// Untimed counts critical-path steps without a timeout, which the
	// estimate cannot count.
	Untimed int
	RTO     time.Duration
}

// ToRun counts the steps and items that will run: not skipped, and not
// the for_each parents whose items are listed after them.
func (p *Plan) ToRun() int {
	n := 0
	for _, s := range p.Steps {
		if s.Skip == "" && len(s.Items) == 0 {
			n++
		}
	}
	return n
}

// PlannedStep is one step (or one for_each item) as the plan sees it.
type PlannedStep struct {
	Addr      string
	Action    string
	Finally   bool
	Mutating  bool
	DependsOn []string
	Inputs    []*PlannedValue
	// When is "" when the step has no condition; otherwise the rendered
	// value, or "(known after step.X)".
	When string
	// Skip says why the plan already knows the step will not run.
	Skip    string
	Items   []string // for_each keys when known
	ForEach string   // "(known after ...)" when the expansion is not known yet
	Timeout time.Duration
	Confirm string
	Retry   *PlannedRetry
}

// PlannedRetry is a step's retry policy with its values evaluated.
type PlannedRetry struct {
	Attempts int
	Delay    time.Duration
	Backoff  float64
	MaxDelay time.Duration
}

// PlannedValue is an input or an output with its value rendered for people.
type PlannedValue struct {
	Name      string
	Display   string
	Value     cty.Value // cty.NilVal when unknown or sensitive
	Sensitive bool
	Known     bool
}

// Planner holds what planning needs besides the runbook.
type Planner struct {
	Schemas dsl.SchemaSource
}

// Plan evaluates every expression that can be known before the run with the
// given variable values and returns the plan. Diagnostics include
// validation and dependency-cycle errors.
func (p *Planner) Plan(cfg *dsl.Config, vars map[string]cty.Value) (*Plan, *Graph, hcl.Diagnostics) {
	plan, g, diags := p.plan(cfg, vars)
	return plan, g, scrubDiagnostics(vars, diags)
}

func (p *Planner) plan(cfg *dsl.Config, vars map[string]cty.Value) (*Plan, *Graph, hcl.Diagnostics) {
	diags := dsl.ValidateForPlan(cfg, p.Schemas)
	g, gdiags := BuildGraph(cfg)
	if diags.HasErrors() || gdiags.HasErrors() {
		// Report what validate reports: the static check of step inputs
		// that planning would otherwise have done finds more.
		return nil, g, append(dsl.Validate(cfg, p.Schemas), gdiags...)
	}
	scope := dsl.NewScope(cfg, vars, func(path []string) dsl.StepValues {
		return dsl.UnknownSteps{Config: findConfig(cfg, path), Schemas: p.Schemas}
	})
	plan := &Plan{Runbook: cfg.Runbook}
	if cfg.Runbook != nil && cfg.Runbook.RTO != "" {
		plan.RTO, _ = dsl.ParseDuration(cfg.Runbook.RTO)
	}
	skipped := map[int]string{}
	var jobs []*inputJob
	for _, id := range g.Order() {
		n := g.Nodes[id]
		ps, sdiags := p.planStep(g, n, scopeFor(scope, n.Config.Path), skipped, &jobs)
		diags = append(diags, sdiags...)
		plan.Steps = append(plan.Steps, ps...)
	}
	diags = append(diags, runInputJobs(jobs)...)
	diags = append(diags, p.planOutputs(g, cfg, scope, plan)...)
	plan.CriticalPath, plan.Estimate, plan.Untimed = criticalPath(g, plan)
	if plan.RTO > 0 && plan.Estimate > plan.RTO {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Estimated duration exceeds the RTO",
			Detail: fmt.Sprintf("The critical path (%s) may take %s, longer than the recovery time objective of %s. "+
				"Shorten timeouts and retries on it, or run more steps in parallel.", strings.Join(plan.CriticalPath, " -> "), plan.Estimate, plan.RTO),
			Subject: cfg.Runbook.RTORange.Ptr(),
		})
	}
	return plan, g, diags
}

// ValidateAll is `runbook validate`: the language checks plus the graph's.
func ValidateAll(cfg *dsl.Config, schemas dsl.SchemaSource) hcl.Diagnostics {
	diags := dsl.Validate(cfg, schemas)
	_, gdiags := BuildGraph(cfg)
	return append(diags, gdiags...)
}

func findConfig(root *dsl.Config, path []string) *dsl.Config {
	c := root
	for _, name := range path {
		c = c.Modules[name].Config
	}
	return c
}

func scopeFor(root *dsl.Scope, path []string) *dsl.Scope {
	s := root
	for _, name := range path {
		s = s.Child(name)
	}
	return s
}

func (p *Planner) actionSchema(s *dsl.Step) *dsl.ActionSchema {
	if p.Schemas == nil {
		return nil
	}
	ps, ok := p.Schemas.ProviderSchema(s.Action.Provider)
	if !ok {
		return nil
	}
	return ps.Actions[s.Action.Action]
}

func (p *Planner) planStep(g *Graph, n *Node, scope *dsl.Scope, skipped map[int]string, jobs *[]*inputJob) ([]*PlannedStep, hcl.Diagnostics) {
	s := n.Step
	as := p.actionSchema(s)
	ps := &PlannedStep{Addr: n.Addr, Action: s.Action.String(), Finally: s.Finally, Mutating: as == nil || as.Mutating}
	for _, d := range n.Deps {
		ps.DependsOn = append(ps.DependsOn, g.Nodes[d].Addr)
	}
	var diags hcl.Diagnostics
	if !dsl.TimeoutIsInput(as) {
		ps.Timeout, diags = evalDuration(scope, s.Timeout)
	}
	ps.Retry, diags = appendRetry(scope, s.Retry, diags)
	if s.Confirm != nil {
		v, cdiags := scope.Eval(s.Confirm, cty.String, staticEach(s))
		diags = append(diags, cdiags...)
		ps.Confirm = render(g, n.Config, v, s.Confirm, s.ForEach)
	}
	ps.Skip = upstreamSkip(g, n, skipped)
	if ps.Skip == "" && s.When != nil && !exprUsesEach(s.When) {
		v, wdiags := scope.Eval(s.When, cty.Bool, nil)
		diags = append(diags, wdiags...)
		ps.When = render(g, n.Config, v, s.When)
		if v.IsKnown() && !v.IsNull() && v.False() {
			ps.Skip = "when is false"
		}
	}
	if ps.Skip != "" {
		skipped[n.ID] = n.Addr
		// Still evaluated, for its type errors: a skipped step may run next time.
		*jobs = append(*jobs, p.inputJob(g, n, scope, as, staticEach(s), nil))
		return []*PlannedStep{ps}, diags
	}
	if s.ForEach == nil {
		*jobs = append(*jobs, p.inputJob(g, n, scope, as, nil, ps))
		return []*PlannedStep{ps}, diags
	}
	return p.expand(g, n, scope, as, ps, diags, jobs)
}

// expand plans each for_each item as its own step when the collection is
// known, and the step once with unknown inputs otherwise.
func (p *Planner) expand(g *Graph, n *Node, scope *dsl.Scope, as *dsl.ActionSchema, ps *PlannedStep, diags hcl.Diagnostics, jobs *[]*inputJob) ([]*PlannedStep, hcl.Diagnostics) {
	fe, fdiags := scope.Eval(n.Step.ForEach, cty.DynamicPseudoType, nil)
	diags = append(diags, fdiags...)
	items, idiags := dsl.ForEachItems(fe, n.Step.ForEach.Range())
	diags = append(diags, idiags...)
	if diags.HasErrors() {
		return []*PlannedStep{ps}, diags
	}
	if items == nil {
		ps.ForEach = render(g, n.Config, cty.DynamicVal, n.Step.ForEach)
		*jobs = append(*jobs, p.inputJob(g, n, scope, as, staticEach(n.Step), ps))
		return []*PlannedStep{ps}, diags
	}
	keys := dsl.SortedItemKeys(items)
	ps.Items = keys
	out := []*PlannedStep{ps}
	for _, k := range keys {
		item := *ps
		item.Addr = ItemAddr(n.Addr, k)
		item.Items = nil
		each := &dsl.Extra{Each: &dsl.Each{Key: cty.StringVal(k), Value: items[k]}}
		if c := n.Step.Confirm; c != nil && exprUsesEach(c) {
			v, cdiags := scope.Eval(c, cty.String, each)
			diags = append(diags, cdiags...)
			item.Confirm = render(g, n.Config, v, c)
		}
		if n.Step.When != nil && exprUsesEach(n.Step.When) {
			v, wdiags := scope.Eval(n.Step.When, cty.Bool, each)
			diags = append(diags, wdiags...)
			item.When = render(g, n.Config, v, n.Step.When)
			if v.IsKnown() && !v.IsNull() && v.False() {
				item.Skip = "when is false"
			}
		}
		*jobs = append(*jobs, p.inputJob(g, n, scope, as, each, &item))
		out = append(out, &item)
	}
	return out, diags
}

// staticEach is each.* before the collection is known.
func staticEach(s *dsl.Step) *dsl.Extra {
	if s.ForEach == nil {
		return nil
	}
	return &dsl.Extra{Each: &dsl.Each{Key: cty.UnknownVal(cty.String), Value: cty.DynamicVal}}
}

// ItemAddr is the address of one for_each item: step.x["key"].
func ItemAddr(addr, key string) string {
	return addr + "[" + quote(key) + "]"
}

func exprUsesEach(e hcl.Expression) bool {
	for _, t := range e.Variables() {
		if t.RootName() == "each" {
			return true
		}
	}
	return false
}

func upstreamSkip(g *Graph, n *Node, skipped map[int]string) string {
	for _, d := range n.Deps {
		if addr, ok := skipped[d]; ok {
			return "upstream " + addr + " is skipped"
		}
	}
	return ""
}

// inputJob is the evaluation of one step's (or item's) inputs. The plan
// decides skips and expansions in order, then evaluates every step's
// inputs in parallel: that is most of the work, and each is independent.
type inputJob struct {
	run   func() ([]*PlannedValue, hcl.Diagnostics)
	into  *PlannedStep // nil when only the diagnostics matter
	diags hcl.Diagnostics
}

func (p *Planner) inputJob(g *Graph, n *Node, scope *dsl.Scope, as *dsl.ActionSchema, each *dsl.Extra, into *PlannedStep) *inputJob {
	return &inputJob{into: into, run: func() ([]*PlannedValue, hcl.Diagnostics) {
		return p.planInputs(g, n, scope, as, each)
	}}
}

// runInputJobs runs the jobs on every core and returns their diagnostics
// in job order, so output stays deterministic.
func runInputJobs(jobs []*inputJob) hcl.Diagnostics {
	var wg sync.WaitGroup
	next := make(chan *inputJob)
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range next {
				inputs, diags := j.run()
				j.diags = diags
				if j.into != nil {
					j.into.Inputs = inputs
				}
			}
		}()
	}
	for _, j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	var diags hcl.Diagnostics
	for _, j := range jobs {
		diags = append(diags, j.diags...)
	}
	return diags
}

// planInputs evaluates the action's inputs and renders each top-level one.
func (p *Planner) planInputs(g *Graph, n *Node, scope *dsl.Scope, as *dsl.ActionSchema, each *dsl.Extra) ([]*PlannedValue, hcl.Diagnostics) {
	val, diags := scope.StepInputs(n.Step, as, each)
	if diags.HasErrors() || val.IsNull() || !val.Type().IsObjectType() {
		return nil, diags
	}
	exprs := inputExprs(n.Step.Inputs)
	sensitive := map[string]bool{}
	if as != nil && as.Inputs != nil {
		for _, name := range as.Inputs.SensitivePaths() {
			sensitive[name] = true
		}
	}
	var out []*PlannedValue
	for _, name := range sortedAttrs(val) {
		v := val.GetAttr(name)
		if v.IsNull() {
			continue
		}
		if sensitive[name] {
			v = v.Mark(dsl.SensitiveMark)
		}
		out = append(out, renderValue(g, n.Config, name, v, exprs[name], n.Step.ForEach))
	}
	return out, diags
}

// inputExprs maps each input attribute or block type to an expression that
// holds its references, for "(known after ...)".
func inputExprs(body hcl.Body) map[string]hcl.Expression {
	out := map[string]hcl.Expression{}
	sb, ok := body.(*hclsyntax.Body)
	if !ok {
		attrs, _ := body.JustAttributes()
		for name, a := range attrs {
			out[name] = a.Expr
		}
		return out
	}
	for name, a := range sb.Attributes {
		out[name] = a.Expr
	}
	for _, b := range sb.Blocks {
		out[b.Type] = bodyExpr{b.Body}
	}
	return out
}

// bodyExpr presents a nested block's references as one expression.
type bodyExpr struct{ body *hclsyntax.Body }

func (b bodyExpr) Value(*hcl.EvalContext) (cty.Value, hcl.Diagnostics) { return cty.DynamicVal, nil }
func (b bodyExpr) Variables() []hcl.Traversal                          { return dsl.BodyTraversals(b.body) }
func (b bodyExpr) Range() hcl.Range                                    { return b.body.SrcRange }
func (b bodyExpr) StartRange() hcl.Range                               { return b.body.SrcRange }

func sortedAttrs(obj cty.Value) []string {
	var names []string
	for name := range obj.Type().AttributeTypes() {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (p *Planner) planOutputs(g *Graph, cfg *dsl.Config, scope *dsl.Scope, plan *Plan) hcl.Diagnostics {
	var diags hcl.Diagnostics
	names := make([]string, 0, len(cfg.Outputs))
	for name := range cfg.Outputs {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		o := cfg.Outputs[name]
		v, odiags := scope.Eval(o.Value, cty.DynamicPseudoType, nil)
		diags = append(diags, odiags...)
		if o.Sensitive {
			v = v.Mark(dsl.SensitiveMark)
		}
		plan.Outputs = append(plan.Outputs, renderValue(g, cfg, name, v, o.Value))
	}
	return diags
}

func evalDuration(scope *dsl.Scope, e hcl.Expression) (time.Duration, hcl.Diagnostics) {
	if e == nil {
		return 0, nil
	}
	v, diags := scope.Eval(e, cty.String, nil)
	if diags.HasErrors() || !v.IsKnown() || v.IsNull() {
		return 0, diags
	}
	u, _ := v.Unmark()
	d, err := dsl.ParseDuration(u.AsString())
	if err != nil {
		return 0, append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid duration", Detail: err.Error() + ".", Subject: e.Range().Ptr()})
	}
	return d, diags
}

func appendRetry(scope *dsl.Scope, r *dsl.Retry, diags hcl.Diagnostics) (*PlannedRetry, hcl.Diagnostics) {
	if r == nil {
		return nil, diags
	}
	pr := &PlannedRetry{Attempts: 3, Delay: time.Second, Backoff: 2}
	if r.Attempts != nil {
		v, d := scope.Eval(r.Attempts, cty.Number, nil)
		diags = append(diags, d...)
		if v.IsKnown() && !v.IsNull() {
			u, _ := v.Unmark()
			n, _ := u.AsBigFloat().Int64()
			pr.Attempts = int(n)
		}
	}
	if r.Backoff != nil {
		v, d := scope.Eval(r.Backoff, cty.Number, nil)
		diags = append(diags, d...)
		if v.IsKnown() && !v.IsNull() {
			u, _ := v.Unmark()
			pr.Backoff, _ = u.AsBigFloat().Float64()
		}
	}
	var d hcl.Diagnostics
	if r.Delay != nil {
		pr.Delay, d = evalDuration(scope, r.Delay)
		diags = append(diags, d...)
	}
	if r.MaxDelay != nil {
		pr.MaxDelay, d = evalDuration(scope, r.MaxDelay)
		diags = append(diags, d...)
	}
	return pr, diags
}

// criticalPath is the longest chain of regular steps weighted by their
// timeouts (a retried step counts each attempt); finally steps are added
// after it since they run last.
func criticalPath(g *Graph, plan *Plan) ([]string, time.Duration, int) {
	weight := map[string]time.Duration{}
	skipped := map[string]bool{}
	for _, ps := range plan.Steps {
		if ps.Skip != "" {
			skipped[ps.Addr] = true
			continue
		}
		w := ps.Timeout
		if ps.Retry != nil && ps.Retry.Attempts > 1 {
			w *= time.Duration(ps.Retry.Attempts)
		}
		if w > weight[baseAddr(ps.Addr)] {
			weight[baseAddr(ps.Addr)] = w
		}
	}
	// A chain's length is its estimate, then its number of steps: among
	// equally timed chains the longer one is the critical path.
	type length struct {
		d time.Duration
		n int
	}
	longer := func(a, b length) bool { return a.d > b.d || (a.d == b.d && a.n > b.n) }
	best := make([]length, len(g.Nodes))
	prev := make([]int, len(g.Nodes))
	end, endFinal := -1, -1
	for _, id := range g.Order() {
		n := g.Nodes[id]
		prev[id] = -1
		if skipped[n.Addr] {
			continue // it will not run, and neither will what depends on it
		}
		for _, d := range n.Deps {
			if n.Finally() && !g.Nodes[d].Finally() {
				continue // finally steps start after every regular step anyway
			}
			if prev[id] == -1 || longer(best[d], best[prev[id]]) {
				prev[id] = d
			}
		}
		if prev[id] >= 0 {
			best[id] = best[prev[id]]
		}
		best[id].d += weight[n.Addr]
		best[id].n++
		if n.Finally() {
			if endFinal < 0 || longer(best[id], best[endFinal]) {
				endFinal = id
			}
		} else if end < 0 || longer(best[id], best[end]) {
			end = id
		}
	}
	path, total, untimed := walkBack(g, prev, end, weight)
	if endFinal >= 0 {
		fpath, ftotal, funtimed := walkBack(g, prev, endFinal, weight)
		path, total, untimed = append(path, fpath...), total+ftotal, untimed+funtimed
	}
	return path, total, untimed
}

func walkBack(g *Graph, prev []int, end int, weight map[string]time.Duration) ([]string, time.Duration, int) {
	var path []string
	var total time.Duration
	untimed := 0
	for id := end; id >= 0; id = prev[id] {
		addr := g.Nodes[id].Addr
		path = append([]string{addr}, path...)
		total += weight[addr]
		if weight[addr] == 0 {
			untimed++
		}
	}
	return path, total, untimed
}

// baseAddr strips a for_each key: step.x["a"] -> step.x.
func baseAddr(addr string) string {
	for i := 0; i < len(addr); i++ {
		if addr[i] == '[' {
			return addr[:i]
		}
	}
	return addr
}
