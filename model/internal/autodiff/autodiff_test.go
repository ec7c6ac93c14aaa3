package autodiff

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/backends/simplego"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

func backend(t *testing.T) backends.Backend {
	t.Helper()
	b, err := simplego.New("ops_sequential")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func randTensor(r *rand.Rand, dims ...int) *tensors.Tensor {
	n := 1
	for _, d := range dims {
		n *= d
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = r.NormFloat64()
	}
	return tensors.FromFlatDataAndDimensions(data, dims...)
}

type dotCase struct {
	name    string
	lhsDims []int
	lc, lb  []int
	rhsDims []int
	rc, rb  []int
}

var dotCases = []dotCase{
	{"matmul", []int{3, 4}, []int{1}, nil, []int{4, 5}, []int{0}, nil},
	{"matmul_transposed_rhs", []int{3, 4}, []int{1}, nil, []int{5, 4}, []int{1}, nil},
	{"contract_first_axes", []int{4, 3}, []int{0}, nil, []int{4, 5}, []int{0}, nil},
	{"batched_heads", []int{2, 3, 4, 5}, []int{3}, []int{0, 1}, []int{2, 3, 6, 5}, []int{3}, []int{0, 1}},
	{"attention_pv", []int{2, 3, 4, 6}, []int{3}, []int{0, 1}, []int{2, 3, 6, 5}, []int{2}, []int{0, 1}},
	{"batch_not_leading", []int{4, 2, 3}, []int{0}, []int{1}, []int{2, 4, 5}, []int{1}, []int{0}},
	{"two_contracting_swapped", []int{3, 4, 5}, []int{2, 1}, nil, []int{5, 4, 6}, []int{0, 1}, nil},
	{"projection_3d", []int{1, 7, 8}, []int{2}, nil, []int{8, 9}, []int{0}, nil},
}

// gradients of sum(DotGeneral(x, y) * w) with respect to x and y, with the VJP currently registered.
func dotGrads(t *testing.T, b backends.Backend, c dotCase, x, y, w *tensors.Tensor) (gx, gy []float64) {
	t.Helper()
	exec, err := graph.NewExec(b, func(x, y, w *graph.Node) (*graph.Node, *graph.Node) {
		out := graph.DotGeneral(x, c.lc, c.lb, y, c.rc, c.rb)
		loss := graph.ReduceAllSum(graph.Mul(out, w))
		g := graph.Gradient(loss, x, y)
		return g[0], g[1]
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := exec.Exec(x, y, w)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float64](res[0]), tensors.MustCopyFlatData[float64](res[1])
}

// TestDotGeneralVJPMatchesStock compares the replacement against GoMLX's own VJP, which is correct but
// slow; both run in float64, so they agree to rounding (1e-12).
func TestDotGeneralVJPMatchesStock(t *testing.T) {
	if !Installed {
		t.Fatal("replacements not installed: GoMLX internals changed")
	}
	b := backend(t)
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range dotCases {
		t.Run(c.name, func(t *testing.T) {
			x, y := randTensor(r, c.lhsDims...), randTensor(r, c.rhsDims...)
			outShape, err := graph.ExecOnce(b, func(x, y *graph.Node) *graph.Node {
				return graph.DotGeneral(x, c.lc, c.lb, y, c.rc, c.rb)
			}, x, y)
			if err != nil {
				t.Fatal(err)
			}
			w := randTensor(r, outShape.Shape().Dimensions...)
			gx, gy := dotGrads(t, b, c, x, y, w)
			graph.VJPRegistration[graph.NodeTypeDotGeneral] = stockDotGeneral
			sx, sy := dotGrads(t, b, c, x, y, w)
			graph.VJPRegistration[graph.NodeTypeDotGeneral] = dotGeneralVJP
			assertClose(t, "d/dlhs", gx, sx, 1e-12)
			assertClose(t, "d/drhs", gy, sy, 1e-12)
		})
	}
}

// TestVJPFiniteDifferences checks Dot, Rsqrt and Slice gradients against central differences in float64
// (step 1e-6: truncation error ~1e-12, rounding ~1e-10, so a relative tolerance of 1e-6 is loose enough
// to never flake and tight enough to catch any wrong term).
func TestVJPFiniteDifferences(t *testing.T) {
	b := backend(t)
	r := rand.New(rand.NewPCG(3, 4))
	fns := map[string]func(x *graph.Node) *graph.Node{
		"dot_rank2": func(x *graph.Node) *graph.Node {
			m := graph.Const(x.Graph(), [][]float64{{1, 2}, {3, -1}, {0.5, 2}})
			return graph.Dot(x, m) // x is [2,3]
		},
		"dot_matvec": func(x *graph.Node) *graph.Node {
			v := graph.Const(x.Graph(), []float64{1, -2, 0.5})
			return graph.Dot(x, v)
		},
		"rsqrt": func(x *graph.Node) *graph.Node {
			return graph.Rsqrt(graph.AddScalar(graph.Square(x), 0.5))
		},
		"slice": func(x *graph.Node) *graph.Node {
			return graph.Mul(graph.Slice(x, graph.AxisRange(), graph.AxisRange(1, 3)), graph.Slice(x, graph.AxisRange(), graph.AxisRange(0, 2)))
		},
	}
	for name, fn := range fns {
		t.Run(name, func(t *testing.T) {
			x := randTensor(r, 2, 3)
			loss := func(x *graph.Node) *graph.Node {
				out := fn(x)
				return graph.ReduceAllSum(graph.Mul(out, graph.Sin(out)))
			}
			gradT, err := graph.ExecOnce(b, func(x *graph.Node) *graph.Node {
				return graph.Gradient(loss(x), x)[0]
			}, x)
			if err != nil {
				t.Fatal(err)
			}
			grad := tensors.MustCopyFlatData[float64](gradT)
			lossExec, err := graph.NewExec(b, loss)
			if err != nil {
				t.Fatal(err)
			}
			base := tensors.MustCopyFlatData[float64](x)
			const h = 1e-6
			eval := func(data []float64) float64 {
				out, err := lossExec.Exec1(tensors.FromFlatDataAndDimensions(data, 2, 3))
				if err != nil {
					t.Fatal(err)
				}
				return tensors.MustCopyFlatData[float64](out)[0]
			}
			fd := make([]float64, len(base))
			for i := range base {
				p := append([]float64(nil), base...)
				p[i] += h
				m := append([]float64(nil), base...)
				m[i] -= h
				fd[i] = (eval(p) - eval(m)) / (2 * h)
			}
			assertClose(t, "gradient vs finite differences", grad, fd, 1e-6)
		})
	}
}

func assertClose(t *testing.T, what string, got, want []float64, rel float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: len %d, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, w := range want {
		scale = math.Max(scale, math.Abs(w))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > rel*math.Max(scale, 1) {
			t.Fatalf("%s[%d] = %g, want %g (rel tol %g)", what, i, got[i], want[i], rel)
		}
	}
}
