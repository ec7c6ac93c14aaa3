package vmath_test

import (
	"fmt"

	"github.com/agentlens/agentlens/model/internal/vmath"
)

// ExampleExpShift turns a row of scores into softmax weights: shift by the row's maximum, exponentiate
// in place, divide by the returned sum.
func ExampleExpShift() {
	row := []float32{1, 2, 3, 2}
	sum := vmath.ExpShift(row, vmath.RowMax(row, row[0]))
	for i := range row {
		row[i] /= sum
	}
	fmt.Printf("%.4f\n", row)
	// Output: [0.0723 0.1966 0.5344 0.1966]
}

// ExampleSigmoid computes the logistic function, in place.
func ExampleSigmoid() {
	x := []float32{-100, -1, 0, 1, 100}
	vmath.Sigmoid(x, x)
	fmt.Printf("%.4f\n", x)
	// Output: [0.0000 0.2689 0.5000 0.7311 1.0000]
}
