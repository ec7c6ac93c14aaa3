package vmath

import (
	"fmt"
	"math"
	"sync"
	"unsafe"

	"github.com/agentlens/agentlens/model/internal/isa"
)

// lanes is the block the row kernels work in: ExpShift and RowMax hand a row's first len&^7 values to
// the kernel and finish the rest in Go.
const lanes = 8

// rowKernels are the block loops behind ExpShift and RowMax; n is a multiple of lanes.
type rowKernels struct {
	name     string
	level    isa.Level
	expShift func(n int, x *float32, shift float32) float32
	rowMax   func(n int, x *float32, init float32) float32
}

// rowGeneric is the pure-Go twin of the assembly: the same 8-lane blocks, computed with Exp32.
var rowGeneric = &rowKernels{name: "go", expShift: expShiftGo, rowMax: maxGo}

func expShiftGo(n int, x *float32, shift float32) float32 {
	row := unsafe.Slice(x, n)
	sum := float32(0)
	for i, v := range row {
		e := Exp32(v - shift)
		row[i] = e
		sum += e
	}
	return sum
}

func maxGo(n int, x *float32, init float32) float32 {
	for _, v := range unsafe.Slice(x, n) {
		init = max(init, v)
	}
	return init
}

// rows picks, once per process, the best row kernels this CPU runs (capped or forced by
// AGENTLENS_KERNEL) that pass their self-check.
var rows = sync.OnceValue(func() *rowKernels {
	k, warnings := chooseRows(isa.Current(), archRowKernels())
	for _, w := range warnings {
		isa.Warn("%s", w)
	}
	return k
})

func chooseRows(c isa.Choice, ks []*rowKernels) (*rowKernels, []string) {
	cands := make([]isa.Candidate[*rowKernels], len(ks))
	for i, k := range ks {
		cands[i] = isa.Candidate[*rowKernels]{Name: k.name, Level: k.level, Kernel: k}
	}
	k, warnings := isa.Select("vmath row kernel", c, cands, checkRows)
	return k.Kernel, warnings
}

// checkRows compares a row kernel with the pure-Go one on a 40-value row covering the exponential's
// range (−∞ for a masked key, below the −87.34 clamp, 0, large negatives, fractions) at every length up
// to 40: e^x within 3e-7 relative (2 ulp each way) or 2e-38 absolute (the assembly clamps at e^−87.34
// where Go gives 0), sums within 1e-6 relative, maxima exact.
func checkRows(k *rowKernels) error {
	base := make([]float32, 5*lanes)
	for i := range base {
		base[i] = -float32(i*i%53) * 1.7 / float32(1+i%3)
	}
	base[3], base[11], base[17], base[30] = float32(math.Inf(-1)), -90, 0, -87.3
	for n := lanes; n <= len(base); n += lanes {
		mx := maxGo(n, &base[0], float32(math.Inf(-1)))
		if got := k.rowMax(n, &base[0], float32(math.Inf(-1))); got != mx {
			return fmt.Errorf("max of %d values = %g, want %g", n, got, mx)
		}
		got, want := append([]float32(nil), base[:n]...), append([]float32(nil), base[:n]...)
		gs, ws := k.expShift(n, &got[0], -0.5), expShiftGo(n, &want[0], -0.5)
		for i := range want {
			if d := math.Abs(float64(got[i] - want[i])); d > 3e-7*float64(want[i]) && d > 2e-38 {
				return fmt.Errorf("e^(%g+0.5) = %g, want %g", base[i], got[i], want[i])
			}
		}
		if math.Abs(float64(gs-ws)) > 1e-6*math.Abs(float64(ws)) {
			return fmt.Errorf("sum of e^(x+0.5) over %d values = %g, want %g", n, gs, ws)
		}
	}
	return nil
}

// ExpShift sets row[i] = e^(row[i]−shift) and returns their sum; results below e^−87.34 (including
// −∞ inputs) are 0 or, on the AVX2 path, 1.2e-38. Inputs must not exceed shift+88 (the softmax case,
// x ≤ max, and e^−|x|).
func ExpShift(row []float32, shift float32) float32 { return rows().expShiftRow(row, shift) }

// RowMax returns the largest of init and row's values.
func RowMax(row []float32, init float32) float32 { return rows().rowMaxRow(row, init) }

func (k *rowKernels) expShiftRow(row []float32, shift float32) float32 {
	n := len(row) &^ (lanes - 1)
	sum := float32(0)
	if n > 0 {
		sum = k.expShift(n, &row[0], shift)
	}
	for i := n; i < len(row); i++ {
		e := Exp32(row[i] - shift)
		row[i] = e
		sum += e
	}
	return sum
}

func (k *rowKernels) rowMaxRow(row []float32, init float32) float32 {
	n := len(row) &^ (lanes - 1)
	if n > 0 {
		init = k.rowMax(n, &row[0], init)
	}
	for _, x := range row[n:] {
		init = max(init, x)
	}
	return init
}
