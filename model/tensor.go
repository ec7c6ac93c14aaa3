package model

import "fmt"

// Tensor is a dense float32 host tensor in row-major order.
type Tensor struct {
	Shape []int
	Data  []float32
}

// NewTensor returns a zero tensor of the given shape.
func NewTensor(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numel(shape))}
}

// Numel is the number of elements.
func (t *Tensor) Numel() int { return numel(t.Shape) }

// Row returns the slice of the last axis at the given leading indices (a view).
func (t *Tensor) Row(idx ...int) []float32 {
	if len(idx) != len(t.Shape)-1 {
		panic(fmt.Sprintf("model: Tensor.Row: %d indices for rank %d", len(idx), len(t.Shape)))
	}
	off := 0
	for i, x := range idx {
		off = off*t.Shape[i] + x
	}
	n := t.Shape[len(t.Shape)-1]
	return t.Data[off*n : (off+1)*n]
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}
