package main

import (
	"fmt"
	"math"

	"github.com/runbook-dev/runbook/internal/testgen"
)

// shapeNames are the -shapes names, in table order.
var shapeNames = []string{"fanout", "chain", "grid"}

// shapeCase is one shape at the run's scale.
type shapeCase struct {
	name  string
	shape testgen.Shape
	n     int // steps
	label string
	deps  [][]int
}

// newShape sizes a shape for scale: the step count is multiplied by it,
// with a floor that keeps the shape what it is (a grid of at least 2 x 2).
func newShape(name string, scale float64) (shapeCase, error) {
	sc := shapeCase{name: name}
	switch name {
	case "fanout":
		sc.shape, sc.n = testgen.FanOutIn, max(3, int(math.Round(10000*scale)))
		sc.label = fmt.Sprintf("fan-out/in %d", sc.n)
	case "chain":
		sc.shape, sc.n = testgen.Chain, max(2, int(math.Round(1000*scale)))
		sc.label = fmt.Sprintf("chain %d", sc.n)
	case "grid":
		k := max(2, int(math.Round(100*math.Sqrt(scale))))
		sc.shape, sc.n = testgen.Grid, k*k
		sc.label = fmt.Sprintf("grid %dx%d", k, k)
	default:
		return sc, fmt.Errorf("unknown shape %q", name)
	}
	var err error
	sc.deps, err = testgen.Deps(sc.shape, sc.n)
	return sc, err
}
