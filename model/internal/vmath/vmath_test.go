package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestExp32 checks Exp32 against math.Exp over the range softmax uses (x ≤ 0) and at its edges.
func TestExp32(t *testing.T) {
	worst := 0.0
	for x := -87.0; x <= 10; x += 0.0137 {
		got, want := float64(Exp32(float32(x))), math.Exp(float64(float32(x)))
		worst = math.Max(worst, math.Abs(got-want)/want)
	}
	if worst > 3e-7 {
		t.Errorf("Exp32 max relative error %.3g, want ≤ 3e-7 (2 float32 ulp)", worst)
	}
	if Exp32(float32(math.Inf(-1))) != 0 || Exp32(-100) != 0 || Exp32(0) != 1 {
		t.Errorf("Exp32(-Inf), Exp32(-100), Exp32(0) = %v, %v, %v, want 0, 0, 1", Exp32(float32(math.Inf(-1))), Exp32(-100), Exp32(0))
	}
}

// BenchmarkCausal is one SmolLM2 layer's attention at 4,096 tokens (9 heads, 3 kv heads, 64 per head).
// TestRowKernels checks ExpShift and RowMax (assembly on amd64) against math.Exp and a plain loop for
// lengths around the 8-lane vector width, including −∞ entries (masked keys) and an init above the row.
func TestRowKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{0, 1, 7, 8, 9, 16, 17, 255, 256} {
		row := random(n, r, 30)
		if n > 3 {
			row[2] = float32(math.Inf(-1))
		}
		want := float32(math.Inf(-1))
		for _, x := range row {
			want = max(want, x)
		}
		if got := RowMax(row, float32(math.Inf(-1))); got != want {
			t.Errorf("n=%d: rowMax = %v, want %v", n, got, want)
		}
		if got := RowMax(row, 100); got != 100 {
			t.Errorf("n=%d: rowMax with init 100 = %v", n, got)
		}
		shift := want
		exp := make([]float64, n)
		sum := 0.0
		for i, x := range row {
			exp[i] = math.Exp(float64(x - shift)) // the difference rounds to float32 first, as in the kernel
			sum += exp[i]
		}
		gotSum := ExpShift(row, shift)
		for i := range row {
			// 3e-7 relative (2 ulp), or 2e-38 absolute: the assembly clamps at e^−87.34 instead of 0.
			if d := math.Abs(float64(row[i]) - exp[i]); d > 3e-7*exp[i] && d > 2e-38 {
				t.Fatalf("n=%d: expShift[%d] = %g, want %g", n, i, row[i], exp[i])
			}
		}
		if math.Abs(float64(gotSum)-sum) > 1e-6*math.Max(sum, 1) {
			t.Errorf("n=%d: expShift sum = %g, want %g", n, gotSum, sum)
		}
	}
}

func random(n int, r *rand.Rand, spread float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = (r.Float32()*2 - 1) * spread
	}
	return x
}

// TestSigmoid checks Sigmoid against float64 1/(1+e^−x) over SiLU's range and beyond, at the edges
// where e^−x overflows float32, and in place. Tolerance 4e-7 relative: Exp32's 2 ulp plus one
// rounding each for the add and the divide.
func TestSigmoid(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, n := range []int{0, 1, 7, 8, 9, 100, 1031} {
		x := random(n, r, 40)
		if n > 8 {
			x[0], x[1], x[2], x[3], x[4] = -200, 200, float32(math.Inf(-1)), float32(math.Inf(1)), 0
		}
		got := make([]float32, n)
		Sigmoid(got, x)
		for i, v := range x {
			want := 1 / (1 + math.Exp(-float64(v)))
			if d := math.Abs(float64(got[i]) - want); d > 4e-7*want && d > 1e-37 {
				t.Fatalf("n=%d: Sigmoid(%g) = %g, want %g", n, v, got[i], want)
			}
		}
		if n > 8 {
			x[5] = float32(math.NaN())
			Sigmoid(got[5:6], x[5:6])
			if !math.IsNaN(float64(got[5])) {
				t.Fatalf("Sigmoid(NaN) = %g", got[5])
			}
		}
		Sigmoid(x, x)
		for i := range x {
			if x[i] != got[i] && !(math.IsNaN(float64(x[i])) && math.IsNaN(float64(got[i]))) {
				t.Fatalf("n=%d: in-place Sigmoid differs at %d", n, i)
			}
		}
	}
}
