//go:build amd64 && !purego

package vmath

import "golang.org/x/sys/cpu"

// expShiftAVX2 sets x[i] = e^(x[i]−shift) for i < n, n a multiple of 8, and returns their sum; inputs
// below −87.34 after the shift give 1.2e-38 (e^−87.34), not 0. Needs AVX2 and FMA.
//
//go:noescape
func expShiftAVX2(n int, x *float32, shift float32) float32

var haveAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// ExpShift sets row[i] = e^(row[i]−shift) and returns their sum; results below e^−87.34 (including
// −∞ inputs) are 0 or, on the AVX2 path, 1.2e-38. Inputs must not exceed shift+88 (the softmax case,
// x ≤ max, and e^−|x|).
func ExpShift(row []float32, shift float32) float32 {
	n := 0
	sum := float32(0)
	if haveAVX2 {
		n = len(row) &^ 7
		if n > 0 {
			sum = expShiftAVX2(n, &row[0], shift)
		}
	}
	for i := n; i < len(row); i++ {
		e := Exp32(row[i] - shift)
		row[i] = e
		sum += e
	}
	return sum
}

// maxAVX2 returns the largest of init and x[0..n), n a multiple of 8. Needs AVX2.
//
//go:noescape
func maxAVX2(n int, x *float32, init float32) float32

// RowMax returns the largest of init and row's values.
func RowMax(row []float32, init float32) float32 {
	n := 0
	if haveAVX2 {
		n = len(row) &^ 7
		if n > 0 {
			init = maxAVX2(n, &row[0], init)
		}
	}
	for _, x := range row[n:] {
		init = max(init, x)
	}
	return init
}
