package runbook

import (
	"container/heap"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/hashicorp/hcl/v2"

	"github.com/runbook-dev/runbook/dsl"
)

// Node is one step of the flattened graph: a step of the root runbook or of
// a module, addressed like `step.backup` or `module.restore.step.upload`.
type Node struct {
	ID     int
	Addr   string
	Step   *dsl.Step
	Config *dsl.Config // the root or module config that declares the step
	// Deps are the IDs of the steps this one waits for, sorted.
	Deps       []int
	Dependents []int
}

// Finally reports whether the node is a finally step.
func (n *Node) Finally() bool { return n.Step.Finally }

// Graph is the step graph of a runbook with every module flattened in.
type Graph struct {
	Root   *dsl.Config
	Nodes  []*Node
	byAddr map[string]*Node
	refs   *resolver
	refsMu sync.Mutex // the resolver memoizes; planning asks from several goroutines
}

// Node returns the node with the given address, or nil.
func (g *Graph) Node(addr string) *Node { return g.byAddr[addr] }

// StepAddr returns the address of step name in the module at path.
func StepAddr(path []string, name string) string {
	var b strings.Builder
	for _, m := range path {
		b.WriteString("module.")
		b.WriteString(m)
		b.WriteByte('.')
	}
	b.WriteString("step.")
	b.WriteString(name)
	return b.String()
}

// BuildGraph flattens the runbook's steps and connects them: explicit
// depends_on plus every reference in a step's inputs, meta-arguments,
// conditions and provider configuration, followed through locals, module
// inputs and module outputs. It reports dependency cycles, naming every
// step on each.
func BuildGraph(root *dsl.Config) (*Graph, hcl.Diagnostics) {
	g := &Graph{Root: root, byAddr: map[string]*Node{}}
	g.addConfig(root)
	r := newResolver(g)
	g.refs = r
	for _, n := range g.Nodes {
		deps := r.stepDeps(n)
		delete(deps, n.ID) // a self-reference is reported as a cycle below
		n.Deps = sortedIDs(deps)
		if r.selfRef(n) {
			n.Deps = append(n.Deps, n.ID)
		}
	}
	for _, n := range g.Nodes {
		for _, d := range n.Deps {
			if d != n.ID {
				g.Nodes[d].Dependents = append(g.Nodes[d].Dependents, n.ID)
			}
		}
	}
	return g, g.cycles()
}

func (g *Graph) addConfig(c *dsl.Config) {
	for _, name := range c.StepOrder {
		n := &Node{ID: len(g.Nodes), Addr: StepAddr(c.Path, name), Step: c.Steps[name], Config: c}
		g.Nodes = append(g.Nodes, n)
		g.byAddr[n.Addr] = n
	}
	for _, name := range c.ModuleOrder {
		if m := c.Modules[name]; m.Config != nil {
			g.addConfig(m.Config)
		}
	}
}

func sortedIDs(set map[int]bool) []int {
	out := make([]int, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Ints(out)
	return out
}

// ExprSteps returns the addresses of the steps an expression of config c
// depends on, directly or through locals and modules, in declaration order.
func (g *Graph) ExprSteps(c *dsl.Config, e hcl.Expression) []string {
	if e == nil {
		return nil
	}
	var out []string
	g.refsMu.Lock()
	ids := sortedIDs(g.refs.traversals(c, e.Variables()))
	g.refsMu.Unlock()
	for _, id := range ids {
		out = append(out, g.Nodes[id].Addr)
	}
	return out
}

// StepTraversals lists every traversal a step holds, in any expression that
// is evaluated for it.
func StepTraversals(s *dsl.Step) []hcl.Traversal {
	travs := append([]hcl.Traversal(nil), s.InputRefs...)
	for _, e := range []hcl.Expression{s.When, s.ForEach, s.Timeout, s.Confirm} {
		travs = append(travs, dsl.ExprTraversals(e)...)
	}
	if s.Retry != nil {
		for _, e := range []hcl.Expression{s.Retry.Attempts, s.Retry.Delay, s.Retry.Backoff, s.Retry.MaxDelay} {
			travs = append(travs, dsl.ExprTraversals(e)...)
		}
	}
	for _, c := range append(append([]*dsl.Check(nil), s.Preconditions...), s.Postconditions...) {
		travs = append(travs, dsl.ExprTraversals(c.Condition)...)
		travs = append(travs, dsl.ExprTraversals(c.ErrorMessage)...)
	}
	return append(travs, s.DependsOn...)
}

// resolver follows references to the steps behind them, memoizing each
// local, module input and module output so that large runbooks stay linear.
type resolver struct {
	g    *Graph
	memo map[string]map[int]bool
	busy map[string]bool
}

func newResolver(g *Graph) *resolver {
	return &resolver{g: g, memo: map[string]map[int]bool{}, busy: map[string]bool{}}
}

func (r *resolver) stepDeps(n *Node) map[int]bool {
	deps := r.traversals(n.Config, StepTraversals(n.Step))
	for id := range r.moduleDependsOn(n.Config) {
		deps[id] = true
	}
	if p := n.Config.Providers[n.Step.ProviderKey()]; p != nil {
		for id := range r.traversals(n.Config, p.ConfigRefs) {
			deps[id] = true
		}
	}
	return deps
}

// moduleDependsOn returns the steps that every step of module config c
// waits for: the depends_on of its module block and of the blocks above it.
func (r *resolver) moduleDependsOn(c *dsl.Config) map[int]bool {
	if len(c.Path) == 0 {
		return nil
	}
	return r.memoized(c, "depends_on", func() map[int]bool {
		parent := r.parentOf(c)
		deps := r.traversals(parent, parent.Modules[c.Path[len(c.Path)-1]].DependsOn)
		for id := range r.moduleDependsOn(parent) {
			deps[id] = true
		}
		return deps
	})
}

// selfRef reports whether a step refers to itself (outside self.*).
func (r *resolver) selfRef(n *Node) bool {
	for _, t := range StepTraversals(n.Step) {
		if ref, d := dsl.ParseRef(t); !d.HasErrors() && ref.Kind == dsl.RefStep && ref.Name == n.Step.Name {
			return true
		}
	}
	return false
}

func (r *resolver) traversals(c *dsl.Config, travs []hcl.Traversal) map[int]bool {
	deps := map[int]bool{}
	for _, t := range travs {
		ref, d := dsl.ParseRef(t)
		if d.HasErrors() {
			continue
		}
		for id := range r.ref(c, ref) {
			deps[id] = true
		}
	}
	return deps
}

func (r *resolver) ref(c *dsl.Config, ref *dsl.Ref) map[int]bool {
	switch ref.Kind {
	case dsl.RefStep:
		if n := r.g.byAddr[StepAddr(c.Path, ref.Name)]; n != nil {
			return map[int]bool{n.ID: true}
		}
	case dsl.RefLocal:
		if l := c.Locals[ref.Name]; l != nil {
			return r.memoized(c, "local."+ref.Name, func() map[int]bool { return r.traversals(c, l.Expr.Variables()) })
		}
	case dsl.RefVar:
		return r.variable(c, ref.Name)
	case dsl.RefModule:
		return r.module(c, ref)
	}
	return nil
}

// variable resolves a module variable to the steps its input refers to in
// the calling config. Root variables depend on nothing.
func (r *resolver) variable(c *dsl.Config, name string) map[int]bool {
	if len(c.Path) == 0 {
		return nil
	}
	parent := r.parentOf(c)
	in := parent.Modules[c.Path[len(c.Path)-1]].Inputs[name]
	if in == nil {
		return nil
	}
	return r.memoized(c, "var."+name, func() map[int]bool { return r.traversals(parent, in.Expr.Variables()) })
}

func (r *resolver) module(c *dsl.Config, ref *dsl.Ref) map[int]bool {
	m := c.Modules[ref.Name]
	if m == nil || m.Config == nil {
		return nil
	}
	child := m.Config
	if ref.Output == "" { // depends_on = [module.x]: every step inside
		return r.memoized(child, "all", func() map[int]bool {
			all := map[int]bool{}
			prefix := StepAddr(child.Path, "")
			for _, n := range r.g.Nodes {
				if strings.HasPrefix(n.Addr, prefix[:len(prefix)-len("step.")]) {
					all[n.ID] = true
				}
			}
			return all
		})
	}
	out := child.Outputs[ref.Output]
	if out == nil {
		return nil
	}
	return r.memoized(child, "output."+ref.Output, func() map[int]bool { return r.traversals(child, out.Value.Variables()) })
}

func (r *resolver) memoized(c *dsl.Config, key string, compute func() map[int]bool) map[int]bool {
	k := strings.Join(c.Path, ".") + "|" + key
	if v, ok := r.memo[k]; ok {
		return v
	}
	if r.busy[k] {
		return nil // a cycle among locals; dsl.Validate reports it
	}
	r.busy[k] = true
	v := compute()
	delete(r.busy, k)
	r.memo[k] = v
	return v
}

func (r *resolver) parentOf(c *dsl.Config) *dsl.Config {
	parent := r.g.Root
	for _, name := range c.Path[:len(c.Path)-1] {
		parent = parent.Modules[name].Config
	}
	return parent
}

// cycles finds strongly connected components (Tarjan) and reports each
// cycle once, naming its steps in order with their source ranges.
func (g *Graph) cycles() hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, scc := range g.scc() {
		if len(scc) == 1 && !contains(g.Nodes[scc[0]].Deps, scc[0]) {
			continue
		}
		var parts []string
		for _, id := range g.aroundCycle(scc) {
			n := g.Nodes[id]
			r := n.Step.NameRange
			parts = append(parts, fmt.Sprintf("%s (%s:%d:%d)", n.Addr, r.Filename, r.Start.Line, r.Start.Column))
		}
		first := g.Nodes[slices.Min(scc)]
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Dependency cycle",
			Detail: fmt.Sprintf("These steps depend on each other, so none of them can start: %s. "+
				"Remove a reference or a depends_on entry to break the cycle.", strings.Join(parts, ", ")),
			Subject: first.Step.NameRange.Ptr(),
		})
	}
	return diags
}

// aroundCycle orders the members of a strongly connected component along
// one cycle through its first-declared step, so that the message reads
// "a waits for b, which waits for c, ..."; members off that cycle follow.
func (g *Graph) aroundCycle(scc []int) []int {
	in := map[int]bool{}
	for _, id := range scc {
		in[id] = true
	}
	start := slices.Min(scc)
	seen := map[int]bool{}
	var path []int
	var dfs func(v int) bool
	dfs = func(v int) bool {
		path = append(path, v)
		seen[v] = true
		for _, d := range g.Nodes[v].Deps {
			if d == start || (in[d] && !seen[d] && dfs(d)) {
				return true
			}
		}
		path = path[:len(path)-1]
		return false
	}
	dfs(start)
	for _, id := range scc {
		if !slices.Contains(path, id) {
			path = append(path, id)
		}
	}
	return path
}

func contains(ids []int, id int) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// scc is Tarjan's algorithm, iterative so that a 10,000-step chain does not
// recurse 10,000 deep.
func (g *Graph) scc() [][]int {
	n := len(g.Nodes)
	index, low := make([]int, n), make([]int, n)
	onStack := make([]bool, n)
	for i := range index {
		index[i] = -1
	}
	var out [][]int
	var tstack []int
	next := 0
	type frame struct{ v, i int }
	for start := 0; start < n; start++ {
		if index[start] >= 0 {
			continue
		}
		call := []frame{{start, 0}}
		index[start], low[start] = next, next
		next++
		tstack = append(tstack, start)
		onStack[start] = true
		for len(call) > 0 {
			f := &call[len(call)-1]
			deps := g.Nodes[f.v].Deps
			if f.i < len(deps) {
				w := deps[f.i]
				f.i++
				if index[w] < 0 {
					index[w], low[w] = next, next
					next++
					tstack = append(tstack, w)
					onStack[w] = true
					call = append(call, frame{w, 0})
				} else if onStack[w] && index[w] < low[f.v] {
					low[f.v] = index[w]
				}
				continue
			}
			v := f.v
			call = call[:len(call)-1]
			if len(call) > 0 && low[v] < low[call[len(call)-1].v] {
				low[call[len(call)-1].v] = low[v]
			}
			if low[v] == index[v] {
				var comp []int
				for {
					w := tstack[len(tstack)-1]
					tstack = tstack[:len(tstack)-1]
					onStack[w] = false
					comp = append(comp, w)
					if w == v {
						break
					}
				}
				out = append(out, comp)
			}
		}
	}
	return out
}

// Order returns the node IDs in a deterministic topological order: regular
// steps first, then finally steps; among ready steps the one declared first
// goes first. It assumes the graph is acyclic.
func (g *Graph) Order() []int {
	indeg := make([]int, len(g.Nodes))
	regular, final := &idHeap{}, &idHeap{}
	ready := func(id int) {
		if g.Nodes[id].Finally() {
			heap.Push(final, id)
		} else {
			heap.Push(regular, id)
		}
	}
	for _, n := range g.Nodes {
		if indeg[n.ID] = len(n.Deps); indeg[n.ID] == 0 {
			ready(n.ID)
		}
	}
	order := make([]int, 0, len(g.Nodes))
	for regular.Len()+final.Len() > 0 {
		h := regular
		if h.Len() == 0 {
			h = final
		}
		id := heap.Pop(h).(int)
		order = append(order, id)
		for _, d := range g.Nodes[id].Dependents {
			if indeg[d]--; indeg[d] == 0 {
				ready(d)
			}
		}
	}
	return order
}

// idHeap pops the smallest ID: the step declared first.
type idHeap []int

func (h idHeap) Len() int           { return len(h) }
func (h idHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h idHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *idHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *idHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
