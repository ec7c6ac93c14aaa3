package attn_test

import (
	"fmt"

	"github.com/agentlens/agentlens/model/internal/attn"
)

// ExampleCausal attends three positions of one head: position 0 sees only itself, position 2 all three
// (with equal scores, z is the mean of the values so far).
func ExampleCausal() {
	s := attn.Shape{T: 3, NHeads: 1, NKVHeads: 1, DHead: 2}
	q := make([]float32, 6) // zero queries: every visible key scores the same
	k := []float32{1, 0, 0, 1, 1, 1}
	v := []float32{3, 0, 0, 3, 3, 3}
	z := make([]float32, 6)
	if err := attn.Causal(z, q, k, v, s, 1, 1<<30); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(z)
	// Output: [3 0 1.5 1.5 2 2]
}

// ExampleBackward takes the gradient of z's first value at the last position with respect to v.
func ExampleBackward() {
	s := attn.Shape{T: 2, NHeads: 1, NKVHeads: 1, DHead: 1}
	q, k, v := []float32{0, 0}, []float32{0, 0}, []float32{1, 3}
	z, lse := make([]float32, 2), make([]float32, 2)
	if err := attn.CausalLSE(z, lse, q, k, v, s, 1, 1<<30); err != nil {
		fmt.Println(err)
		return
	}
	dq, dk, dv := make([]float32, 2), make([]float32, 2), make([]float32, 2)
	dz := []float32{0, 1}
	if err := attn.Backward(dq, dk, dv, q, k, v, z, dz, lse, s, 1, 1<<30); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("z:", z, "dv:", dv)
	// Output: z: [1 2] dv: [0.5 0.5]
}

// ExampleWeightedPattern reads the attention of three positions of one head without forming the
// pattern: row 0 of the weights is the last query's pattern row, row 1 the mean row of queries 1 and 2.
func ExampleWeightedPattern() {
	s := attn.Shape{T: 3, NHeads: 1, NKVHeads: 1, DHead: 2}
	q := make([]float32, 6) // zero queries: every visible key scores the same
	k := []float32{1, 0, 0, 1, 1, 1}
	lse := make([]float32, 3)
	if err := attn.LSE(lse, q, k, s, 1, 1<<30); err != nil {
		fmt.Println(err)
		return
	}
	w := []float32{
		0, 0, 1, // query 2
		0, 0.5, 0.5, // mean of queries 1 and 2
	}
	out := make([]float32, 2*3)
	if err := attn.WeightedPattern(out, w, q, k, lse, s, 1, 1<<30); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%.3f\n%.3f\n", out[:3], out[3:])
	// Output:
	// [0.333 0.333 0.333]
	// [0.417 0.417 0.167]
}
