package vmath

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"unsafe"

	"github.com/agentlens/agentlens/internal/testutil"
	"github.com/agentlens/agentlens/model/internal/isa"
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

// TestRowKernels checks every row kernel (the assembly where this CPU has it, and the pure-Go twin)
// through ExpShift and RowMax's block-and-tail split against math.Exp and a plain loop, for every length
// up to 40 (five 8-lane blocks and every tail) and around 256, with −∞ entries (masked keys) and an
// init above the row.
func TestRowKernels(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	lens := []int{255, 256, 257}
	for n := 0; n <= 40; n++ {
		lens = append(lens, n)
	}
	for _, k := range testRowKernels() {
		for _, n := range lens {
			row := random(n, r, 30)
			if n > 3 {
				row[2] = float32(math.Inf(-1))
			}
			want := float32(math.Inf(-1))
			for _, x := range row {
				want = max(want, x)
			}
			if got := k.rowMaxRow(row, float32(math.Inf(-1))); got != want {
				t.Errorf("%s n=%d: RowMax = %v, want %v", k.name, n, got, want)
			}
			if got := k.rowMaxRow(row, 100); got != 100 {
				t.Errorf("%s n=%d: RowMax with init 100 = %v, want 100", k.name, n, got)
			}
			shift := want
			exp := make([]float64, n)
			sum := 0.0
			for i, x := range row {
				exp[i] = math.Exp(float64(x - shift)) // the difference rounds to float32 first, as in the kernel
				sum += exp[i]
			}
			gotSum := k.expShiftRow(row, shift)
			for i := range row {
				// 3e-7 relative (2 ulp), or 2e-38 absolute: the assembly clamps at e^−87.34 instead of 0.
				if d := math.Abs(float64(row[i]) - exp[i]); d > 3e-7*exp[i] && d > 2e-38 {
					t.Fatalf("%s n=%d: ExpShift[%d] = %g, want %g", k.name, n, i, row[i], exp[i])
				}
			}
			if math.Abs(float64(gotSum)-sum) > 1e-6*math.Max(sum, 1) {
				t.Errorf("%s n=%d: ExpShift sum = %g, want %g", k.name, n, gotSum, sum)
			}
		}
	}
}

// TestSelfCheckCatchesWrongRowKernel plants a row kernel whose exponential is off by one part in 10⁵
// on the last lane (a wrong polynomial coefficient would look like this): the self-check must refuse
// it and fall back to the Go twin, or keep it with a warning when forced; the real kernels pass.
func TestSelfCheckCatchesWrongRowKernel(t *testing.T) {
	wrong := &rowKernels{name: "planted", level: isa.AVX2, rowMax: maxGo,
		expShift: func(n int, x *float32, shift float32) float32 {
			s := expShiftGo(n, x, shift)
			row := unsafe.Slice(x, n)
			row[n-1] *= 1 + 1e-5
			return s
		}}
	cases := []struct {
		name     string
		choice   isa.Choice
		kernels  []*rowKernels
		want     string
		wantWarn string
	}{
		{"falls_back", isa.Choice{Max: isa.AVX2}, []*rowKernels{wrong, rowGeneric}, "go",
			"vmath row kernel planted failed its self-check (e^("},
		{"forced_keeps_it", isa.Choice{Max: isa.AVX2, Forced: true}, []*rowKernels{wrong, rowGeneric}, "planted",
			"using it anyway, as AGENTLENS_KERNEL=avx2 asks"},
		{"forced_generic", isa.Choice{Max: isa.Generic, Forced: true}, []*rowKernels{wrong, rowGeneric}, "go", ""},
		{"real_kernels_pass", isa.Choice{Max: isa.CPULevel()}, archRowKernels(), archRowKernels()[0].name, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, warnings := chooseRows(tc.choice, tc.kernels)
			if k.name != tc.want {
				t.Errorf("chooseRows = %s, want %s", k.name, tc.want)
			}
			joined := strings.Join(warnings, "\n")
			if tc.wantWarn == "" && joined != "" || !strings.Contains(joined, tc.wantWarn) {
				t.Errorf("warnings = %q, want %q", warnings, tc.wantWarn)
			}
		})
	}
}

// testRowKernels returns the row kernels the tests run (this CPU's and the pure-Go twin), recording
// them for the report TestMain writes.
func testRowKernels() []*rowKernels {
	ks := archRowKernels()
	for _, k := range ks {
		kernelLog.Ran(k.name, k.level.String())
	}
	return ks
}

var kernelLog testutil.KernelLog

// TestMain runs the tests, then reports which row kernels ran on this CPU (make test prints it).
func TestMain(m *testing.M) {
	code := m.Run()
	var missed []string
	for _, k := range asmRowKernels() {
		if k.level > isa.CPULevel() {
			missed = append(missed, k.name)
		}
	}
	kernelLog.Report("vmath", missed)
	os.Exit(code)
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
