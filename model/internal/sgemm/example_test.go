package sgemm_test

import (
	"fmt"

	"github.com/agentlens/agentlens/model/internal/sgemm"
)

func ExampleSgemm() {
	// x is [2 tokens, 3 features]; w is a [2 outputs, 3 inputs] weight in Hugging Face layout, so the
	// projection is x·wᵀ: transB.
	x := []float32{1, 2, 3, 4, 5, 6}
	w := []float32{1, 0, 1, 0, 1, 1}
	y := make([]float32, 2*2)
	sgemm.Sgemm(false, true, 2, 2, 3, 1, x, 3, w, 3, 0, y, 2)
	fmt.Println(y)
	// Output: [4 5 10 11]
}
