//go:build !amd64 || purego

package vmath

// ExpShift sets row[i] = e^(row[i]−shift) and returns their sum; results below e^−87.34 (including
// −∞ inputs) are 0 or, on the AVX2 path, 1.2e-38. Inputs must not exceed shift+88 (the softmax case,
// x ≤ max, and e^−|x|).
func ExpShift(row []float32, shift float32) float32 {
	sum := float32(0)
	for i, x := range row {
		e := Exp32(x - shift)
		row[i] = e
		sum += e
	}
	return sum
}

// RowMax returns the largest of init and row's values.
func RowMax(row []float32, init float32) float32 {
	for _, x := range row {
		init = max(init, x)
	}
	return init
}
