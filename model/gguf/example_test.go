package gguf_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/agentlens/agentlens/model/gguf"
)

func Example() {
	dir, err := os.MkdirTemp("", "gguf-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "tiny.gguf")

	// A 2×32 embedding stored as Q8_0 and a norm weight stored as F32.
	embd := make([]float32, 64)
	for i := range embd {
		embd[i] = float32(i%8) / 4
	}
	err = gguf.Write(path, []gguf.KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "llama.block_count", Value: uint32(1)},
		{Key: "tokenizer.ggml.tokens", Value: []string{"<s>", "hi"}},
	}, []gguf.WriteTensor{
		{Name: "token_embd.weight", Type: gguf.TypeQ8_0, Shape: []int{2, 32}, Data: embd},
		{Name: "output_norm.weight", Type: gguf.TypeF32, Shape: []int{32}, Data: make([]float32, 32)},
	})
	if err != nil {
		log.Fatal(err)
	}

	f, err := gguf.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	n, _ := f.Uint("llama.block_count")
	fmt.Println(f.Architecture(), n, f.MetadataMap()["tokenizer.ggml.tokens"])
	for _, t := range f.Tensors() {
		fmt.Println(t.Name, t.Type, t.Dims, t.Size)
	}
	vals, shape, err := f.Float32("token_embd.weight")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%v %.2f\n", shape, vals[:8]) // Q8_0 keeps about 2-3 significant digits
	// Output:
	// llama 1 [<s> hi]
	// token_embd.weight Q8_0 [32 2] 68
	// output_norm.weight F32 [32] 128
	// [2 32] [0.00 0.25 0.50 0.74 1.01 1.25 1.50 1.75]
}
