package fastdot

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"

	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// naiveBroadcast is the reference: out[i] = op(l[idx_l(i)], r[idx_r(i)]) with per-axis index arithmetic.
func naiveBroadcast(op binaryOp, ld, rd []int, l, r []float32) ([]int, []float32) {
	dims := make([]int, len(ld))
	for i := range dims {
		dims[i] = max(ld[i], rd[i])
	}
	out := make([]float32, numel(dims))
	idx := make([]int, len(dims))
	for flat := range out {
		li, ri := 0, 0
		for a := range dims {
			li = li*ld[a] + min(idx[a], ld[a]-1)
			ri = ri*rd[a] + min(idx[a], rd[a]-1)
		}
		out[flat] = apply1(op, l[li], r[ri])
		for a := len(dims) - 1; a >= 0; a-- {
			if idx[a]++; idx[a] < dims[a] {
				break
			}
			idx[a] = 0
		}
	}
	return dims, out
}

// TestBroadcastBinary runs Add, Sub, Mul and Div on broadcast shape pairs (trailing, leading, middle and
// two-sided broadcasts, as softmax, masks, norms and rotary tables use them, small and model-sized)
// through a SimpleGo graph and compares with per-element index arithmetic: results must be bit-identical
// (the same float32 operation on the same two numbers).
func TestBroadcastBinary(t *testing.T) {
	b := newBackend(t)
	pairs := [][2][]int{
		{{2, 3, 4}, {2, 3, 1}},
		{{1, 9, 5, 7}, {1, 1, 5, 7}},
		{{3, 5}, {1, 5}},
		{{1, 5}, {4, 1}},
		{{2, 1, 3, 1}, {1, 4, 1, 5}},
		{{1, 6, 2, 8}, {1, 6, 1, 8}},
		{{4, 1, 1}, {4, 3, 2}},
		// Model-sized: an RMS norm's scale, a norm's weight, rotary tables against heads, and a
		// broadcast row against a column.
		{{1, 1024, 576}, {1, 1024, 1}},
		{{1, 1, 576}, {1, 1024, 576}},
		{{1, 512, 9, 64}, {1, 512, 1, 64}},
		{{1, 40000}, {3, 1}},
	}
	random := nonZeroUniform(rand.New(rand.NewPCG(3, 4)))
	ops := map[binaryOp]func(a, b *graph.Node) *graph.Node{opAdd: graph.Add, opSub: graph.Sub, opMul: graph.Mul, opDiv: graph.Div}
	for _, p := range pairs {
		l, rr := random(numel(p[0])), random(numel(p[1]))
		for op, fn := range ops {
			t.Run(fmt.Sprintf("%v_%d_%v", p[0], op, p[1]), func(t *testing.T) {
				e, err := graph.NewExec(b, fn)
				if err != nil {
					t.Fatal(err)
				}
				outs, err := e.Exec(tensors.FromFlatDataAndDimensions(l, p[0]...), tensors.FromFlatDataAndDimensions(rr, p[1]...))
				if err != nil {
					t.Fatal(err)
				}
				dims, want := naiveBroadcast(op, p[0], p[1], l, rr)
				got := tensors.MustCopyFlatData[float32](outs[0])
				if gd := outs[0].Shape().Dimensions; fmt.Sprint(gd) != fmt.Sprint(dims) {
					t.Fatalf("shape %v, want %v", gd, dims)
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("element %d = %v, want %v", i, got[i], want[i])
					}
				}
			})
		}
	}
}

func TestMergeAxes(t *testing.T) {
	runs, ok := mergeAxes([]int{1, 9, 5, 7}, []int{1, 1, 5, 7})
	if !ok || len(runs) != 2 || runs[0] != (run{n: 9, lStep: true}) || runs[1] != (run{n: 35, lStep: true, rStep: true}) {
		t.Errorf("mergeAxes = %+v, %v", runs, ok)
	}
	if _, ok := mergeAxes([]int{2, 3}, []int{3, 3}); ok {
		t.Error("mergeAxes accepted 2 against 3")
	}
}

func BenchmarkSoftmaxSub(b *testing.B) {
	be := newBackend(b)
	e, err := graph.NewExec(be, func(x *graph.Node) *graph.Node {
		return graph.Sub(x, graph.ReduceAndKeep(x, graph.ReduceMax, -1))
	})
	if err != nil {
		b.Fatal(err)
	}
	x := tensors.FromFlatDataAndDimensions(make([]float32, 9*256*1024), 1, 9, 256, 1024)
	for b.Loop() {
		if _, err := e.Exec(x); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBlockReduce reduces over contiguous axis blocks (the fast path: last axis, middle block, leading
// axes, all axes) and a split block (the stock fallback) and compares with sums and maxima accumulated
// in index order: bit-identical, as the fast path keeps the stock accumulation order.
func TestBlockReduce(t *testing.T) {
	b := newBackend(t)
	dims := []int{3, 4, 5, 6}
	x := make([]float32, numel(dims))
	r := rand.New(rand.NewPCG(5, 6))
	for i := range x {
		x[i] = r.Float32()*10 - 5
	}
	for _, axes := range [][]int{{3}, {1, 2}, {0}, {0, 1, 2, 3}, {1, 3}} {
		for _, isMax := range []bool{false, true} {
			t.Run(fmt.Sprintf("%v_max%v", axes, isMax), func(t *testing.T) {
				e, err := graph.NewExec(b, func(x *graph.Node) *graph.Node {
					if isMax {
						return graph.ReduceMax(x, axes...)
					}
					return graph.ReduceSum(x, axes...)
				})
				if err != nil {
					t.Fatal(err)
				}
				outs, err := e.Exec(tensors.FromFlatDataAndDimensions(x, dims...))
				if err != nil {
					t.Fatal(err)
				}
				got := tensors.MustCopyFlatData[float32](outs[0])
				// Reference: visit input elements in flat order, accumulate into the output index.
				reduced := map[int]bool{}
				for _, a := range axes {
					reduced[a] = true
				}
				var outDims []int
				for a, d := range dims {
					if !reduced[a] {
						outDims = append(outDims, d)
					}
				}
				want := make([]float32, numel(outDims))
				if isMax {
					for i := range want {
						want[i] = float32(math.Inf(-1))
					}
				}
				idx := make([]int, len(dims))
				for _, v := range x {
					o := 0
					for a, d := range dims {
						if !reduced[a] {
							o = o*d + idx[a]
						}
					}
					if isMax {
						want[o] = max(want[o], v)
					} else {
						want[o] += v
					}
					for a := len(dims) - 1; a >= 0; a-- {
						if idx[a]++; idx[a] < dims[a] {
							break
						}
						idx[a] = 0
					}
				}
				if len(got) != len(want) {
					t.Fatalf("%d outputs, want %d", len(got), len(want))
				}
				for i := range want {
					if got[i] != want[i] {
						t.Fatalf("output %d = %v, want %v", i, got[i], want[i])
					}
				}
			})
		}
	}
}

// TestSameShapeBinary runs (a·b − c) / a + b on same-shape float32 operands through a SimpleGo graph,
// below and above the parallel threshold: the results must be bit-identical to the element-by-element
// reference (each is the same float32 operation on the same two numbers), and the parallel executor must
// have run exactly for the large shapes (its first Mul on parameters writes a new buffer; the later ops
// take their owned intermediate operand over).
func TestSameShapeBinary(t *testing.T) {
	b := newBackend(t)
	random := nonZeroUniform(rand.New(rand.NewPCG(5, 6)))
	for _, dims := range [][]int{{3, 5}, {2, 100, 100}, {1, 1024, 576}, {parallelMin + 7}} {
		t.Run(fmt.Sprint(dims), func(t *testing.T) {
			n := numel(dims)
			a, bb, c := random(n), random(n), random(n)
			e, err := graph.NewExec(b, func(a, b, c *graph.Node) *graph.Node {
				return graph.Add(graph.Div(graph.Sub(graph.Mul(a, b), c), a), b)
			})
			if err != nil {
				t.Fatal(err)
			}
			before := sameShapeRuns.Load()
			outs, err := e.Exec(tensors.FromFlatDataAndDimensions(a, dims...), tensors.FromFlatDataAndDimensions(bb, dims...),
				tensors.FromFlatDataAndDimensions(c, dims...))
			if err != nil {
				t.Fatal(err)
			}
			got := tensors.MustCopyFlatData[float32](outs[0])
			for i := range got {
				want := float32(float32(float32(a[i]*bb[i])-c[i])/a[i]) + bb[i] // conversions: no fused multiply-add
				if got[i] != want && !(math.IsNaN(float64(got[i])) && math.IsNaN(float64(want))) {
					t.Fatalf("element %d = %g, want %g", i, got[i], want)
				}
			}
			runs, wantRuns := sameShapeRuns.Load()-before, int64(0)
			if n >= parallelMin {
				wantRuns = 4
			}
			if runs != wantRuns {
				t.Errorf("parallel executor ran %d times, want %d", runs, wantRuns)
			}
		})
	}
}

// TestParallelSplit checks that the ranges parallelSplit hands out cover [0, n) exactly once, that small
// work stays on one call, and that no more than GOMAXPROCS ranges (nor more than n) are made.
func TestParallelSplit(t *testing.T) {
	for _, c := range []struct{ n, size int }{{10, 100}, {1, parallelMin * 8}, {3, parallelMin * 8}, {1000, parallelMin}, {parallelMin * 3, parallelMin * 3}} {
		var mu sync.Mutex
		seen := make([]int, c.n)
		calls := 0
		parallelSplit(c.n, c.size, func(lo, hi int) {
			mu.Lock()
			defer mu.Unlock()
			calls++
			for i := lo; i < hi; i++ {
				seen[i]++
			}
		})
		for i, k := range seen {
			if k != 1 {
				t.Fatalf("n=%d size=%d: position %d covered %d times", c.n, c.size, i, k)
			}
		}
		maxCalls := min(runtime.GOMAXPROCS(0), c.n)
		if c.size < parallelMin {
			maxCalls = 1
		}
		if calls < 1 || calls > maxCalls {
			t.Errorf("n=%d size=%d: %d ranges, want 1..%d", c.n, c.size, calls, maxCalls)
		}
	}
}

// nonZeroUniform returns a generator of n uniform values in [-2, 2) with no zeros (divisors), from r.
func nonZeroUniform(r *rand.Rand) func(n int) []float32 {
	return func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = r.Float32()*4 - 2
			if x[i] == 0 {
				x[i] = 1
			}
		}
		return x
	}
}
