package safetensors_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/agentlens/agentlens/model/safetensors"
)

func Example() {
	dir, err := os.MkdirTemp("", "safetensors-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, safetensors.SingleFile)
	err = safetensors.Write(path, []safetensors.Tensor{
		{Name: "model.norm.weight", DType: "BF16", Shape: []int{3}, Data: []float32{1, 0.5, -2}},
		{Name: "lm_head.weight", DType: "F16", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		log.Fatal(err)
	}

	set, err := safetensors.OpenDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	defer set.Close()
	for _, t := range set.Tensors() {
		fmt.Println(t.Name, t.DType, t.Shape)
	}
	vals, shape, err := set.Float32("lm_head.weight")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(shape, vals)
	// Output:
	// model.norm.weight BF16 [3]
	// lm_head.weight F16 [2 3]
	// [2 3] [1 2 3 4 5 6]
}
