//go:build !amd64 || purego

package attn

// expShift sets row[i] = e^(row[i]−shift) and returns their sum.
func expShift(row []float32, shift float32) float32 {
	sum := float32(0)
	for i, x := range row {
		e := exp32(x - shift)
		row[i] = e
		sum += e
	}
	return sum
}

// rowMax returns the largest of init and row's values.
func rowMax(row []float32, init float32) float32 {
	for _, x := range row {
		init = max(init, x)
	}
	return init
}
