package fastdot

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// TestLogistic runs Logistic through SimpleGo graphs on a parameter (not owned: a new buffer) and on an
// intermediate (owned: computed in place), below and above the parallel split, and compares with float64
// 1/(1+e^−x) to 4e-7 relative (vmath.Sigmoid's bound); the replacement executor must have run.
func TestLogistic(t *testing.T) {
	b := newBackend(t)
	r := rand.New(rand.NewPCG(7, 8))
	for _, n := range []int{5, 1000, 3*parallelMin + 7} {
		x := make([]float32, n)
		for i := range x {
			x[i] = (r.Float32()*2 - 1) * 30
		}
		for name, fn := range map[string]func(x *graph.Node) *graph.Node{
			"param":        graph.Logistic,
			"intermediate": func(x *graph.Node) *graph.Node { return graph.Logistic(graph.Neg(graph.Neg(x))) },
		} {
			before := logisticRuns.Load()
			e, err := graph.NewExec(b, fn)
			if err != nil {
				t.Fatal(err)
			}
			in := tensors.FromFlatDataAndDimensions(x, n)
			outs, err := e.Exec(in)
			if err != nil {
				t.Fatal(err)
			}
			if logisticRuns.Load() == before {
				t.Errorf("n=%d %s: the float32 Logistic executor did not run", n, name)
			}
			got := tensors.MustCopyFlatData[float32](outs[0])
			for i, v := range x {
				want := 1 / (1 + math.Exp(-float64(v)))
				if d := math.Abs(float64(got[i]) - want); d > 4e-7*want {
					t.Fatalf("n=%d %s: logistic(%g) = %g, want %g", n, name, v, got[i], want)
				}
			}
			if x2 := tensors.MustCopyFlatData[float32](in); x2[0] != x[0] || x2[n-1] != x[n-1] {
				t.Errorf("n=%d %s: the input parameter was overwritten", n, name)
			}
		}
	}
}
