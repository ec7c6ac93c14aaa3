package backend_test

import (
	"math"
	"testing"

	"github.com/gomlx/gomlx/backends"
	"github.com/gomlx/gomlx/pkg/core/graph"
	"github.com/gomlx/gomlx/pkg/core/tensors"
)

// Shapes of the parity graph: x is [batch, d_in], w is [d_in, d_out], c is [batch, d_out].
const (
	parityBatch = 5
	parityIn    = 7
	parityOut   = 6
)

// parityGraph computes y = softmax(x·w) over d_out, s = Σ_j y·c (a reduce), loss = Σ_i s_i², and
// the gradient of loss with respect to w through graph.Gradient.
func parityGraph(x, w, c *graph.Node) (y, s, gradW *graph.Node) {
	y = graph.Softmax(graph.MatMul(x, w), -1)
	s = graph.ReduceSum(graph.Mul(y, c), -1)
	loss := graph.ReduceAllSum(graph.Mul(s, s))
	gradW = graph.Gradient(loss, w)[0]
	return y, s, gradW
}

// parityInputs returns deterministic inputs of a few units' magnitude, row-major.
func parityInputs() (x, w, c []float32) {
	fill := func(n int, f func(i int) float64) []float32 {
		out := make([]float32, n)
		for i := range out {
			out[i] = float32(f(i))
		}
		return out
	}
	x = fill(parityBatch*parityIn, func(i int) float64 { return math.Sin(0.7*float64(i)+0.3) * 1.5 })
	w = fill(parityIn*parityOut, func(i int) float64 { return math.Cos(1.3*float64(i)) * 0.8 })
	c = fill(parityBatch*parityOut, func(i int) float64 { return float64(i%5) - 1.7 })
	return x, w, c
}

// parityReference computes parityGraph in float64 with plain loops and the hand-derived gradient
// dL/dw[k][j] = Σ_i x[i][k] · y[i][j] · (g[i][j] − Σ_l y[i][l] g[i][l]), g[i][j] = 2 s[i] c[i][j].
func parityReference(x, w, c []float32) (y, s, gradW []float64) {
	y = make([]float64, parityBatch*parityOut)
	s = make([]float64, parityBatch)
	gradW = make([]float64, parityIn*parityOut)
	for i := range parityBatch {
		row := y[i*parityOut : (i+1)*parityOut]
		maxLogit := math.Inf(-1)
		for j := range parityOut {
			var sum float64
			for k := range parityIn {
				sum += float64(x[i*parityIn+k]) * float64(w[k*parityOut+j])
			}
			row[j] = sum
			maxLogit = max(maxLogit, sum)
		}
		var z float64
		for j := range row {
			row[j] = math.Exp(row[j] - maxLogit)
			z += row[j]
		}
		for j := range row {
			row[j] /= z
			s[i] += row[j] * float64(c[i*parityOut+j])
		}
		var yg float64
		g := make([]float64, parityOut)
		for j := range row {
			g[j] = 2 * s[i] * float64(c[i*parityOut+j])
			yg += row[j] * g[j]
		}
		for j := range row {
			dLogit := row[j] * (g[j] - yg)
			for k := range parityIn {
				gradW[k*parityOut+j] += float64(x[i*parityIn+k]) * dLogit
			}
		}
	}
	return y, s, gradW
}

// runParity executes parityGraph on b and returns its three outputs as flat float32 slices.
func runParity(t *testing.T, b backends.Backend, x, w, c []float32) [3][]float32 {
	t.Helper()
	exec, err := graph.NewExec(b, parityGraph)
	if err != nil {
		t.Fatalf("%s: NewExec: %v", b.Name(), err)
	}
	defer exec.Finalize()
	outs, err := exec.Exec(
		tensors.FromFlatDataAndDimensions(x, parityBatch, parityIn),
		tensors.FromFlatDataAndDimensions(w, parityIn, parityOut),
		tensors.FromFlatDataAndDimensions(c, parityBatch, parityOut))
	if err != nil {
		t.Fatalf("%s: Exec: %v", b.Name(), err)
	}
	var got [3][]float32
	for i, o := range outs {
		if got[i], err = tensors.CopyFlatData[float32](o); err != nil {
			t.Fatalf("%s: output %d: %v", b.Name(), i, err)
		}
	}
	return got
}

// closeTo reports whether got is within abs + rel·|want| of want.
func closeTo(got, want, abs, rel float64) bool {
	return math.Abs(got-want) <= abs+rel*math.Abs(want)
}

func TestParity(t *testing.T) {
	x, w, c := parityInputs()
	refY, refS, refG := parityReference(x, w, c)
	ref := [3][]float64{refY, refS, refG}
	names := [3]string{"softmax", "reduce", "grad_w"}
	// Tolerances against the float64 reference: each output goes through ≤ 7-term f32 dot products,
	// an f32 exp and a few reductions, so a few f32 ulps (≈6e-8 relative each) of error; values are
	// O(1) (y ∈ (0,1), |s| < 4, |grad| < 30). 2e-6 absolute + 1e-5 relative: the largest error seen
	// was 4% of it on go and 2% on xla (XLA's vectorised exp is a polynomial, not libm), so a
	// different summation order or exp kernel still passes while a wrong op cannot.
	const abs, rel = 2e-6, 1e-5
	backendsUnderTest := []struct {
		name string
		get  func(testing.TB) backends.Backend
	}{
		{"go", needGo},
		{"xla", needXLA},
	}
	results := map[string][3][]float32{}
	for _, bt := range backendsUnderTest {
		t.Run(bt.name, func(t *testing.T) {
			got := runParity(t, bt.get(t), x, w, c)
			results[bt.name] = got
			var maxErr float64
			for o := range got {
				if len(got[o]) != len(ref[o]) {
					t.Fatalf("%s %s: %d values, want %d", bt.name, names[o], len(got[o]), len(ref[o]))
				}
				for i := range got[o] {
					maxErr = max(maxErr, math.Abs(float64(got[o][i])-ref[o][i])/(abs+rel*math.Abs(ref[o][i])))
					if !closeTo(float64(got[o][i]), ref[o][i], abs, rel) {
						t.Errorf("%s %s[%d] = %.8g, want %.8g (float64 reference)", bt.name, names[o], i, got[o][i], ref[o][i])
					}
				}
			}
			t.Logf("%s: largest error is %.2g of the tolerance", bt.name, maxErr)
		})
	}
	goRes, okGo := results["go"]
	xlaRes, okXLA := results["xla"]
	if !okGo || !okXLA {
		return
	}
	// Go against XLA directly: both are within the reference tolerance, so within twice it of each other.
	var maxDiff float64
	for o := range goRes {
		for i := range goRes[o] {
			d := math.Abs(float64(goRes[o][i]) - float64(xlaRes[o][i]))
			maxDiff = max(maxDiff, d)
			if !closeTo(float64(xlaRes[o][i]), float64(goRes[o][i]), 2*abs, 2*rel) {
				t.Errorf("xla %s[%d] = %.8g, go = %.8g", names[o], i, xlaRes[o][i], goRes[o][i])
			}
		}
	}
	t.Logf("max |go − xla| over %d values: %.3g", len(goRes[0])+len(goRes[1])+len(goRes[2]), maxDiff)
}
