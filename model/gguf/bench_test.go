package gguf

import (
	"math/rand/v2"
	"testing"

	"github.com/agentlens/agentlens/internal/testutil"
)

// BenchmarkDequantize measures decoding 1 Mi values (random blocks with finite scales) per type.
func BenchmarkDequantize(b *testing.B) {
	const n = 1 << 20
	for _, typ := range []GGMLType{TypeF16, TypeQ8_0, TypeQ4_0, TypeQ4_1, TypeQ5_0, TypeQ4_K, TypeQ5_K, TypeQ6_K} {
		b.Run(typ.String(), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 1))
			raw := make([]byte, n/typ.BlockElems()*typ.BlockBytes())
			for i := range raw {
				raw[i] = byte(rng.UintN(256)) & 0x3b // keeps f16 scales finite
			}
			b.SetBytes(int64(len(raw)))
			for b.Loop() {
				if _, err := Dequantize(typ, raw, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRealModelFloat32 dequantises every tensor of the cached Gemma-3 270M Q4_K_M model.
func BenchmarkRealModelFloat32(b *testing.B) {
	f, err := Open(testutil.ModelPath(b, testutil.Gemma3GGUF))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	var size int64
	for _, t := range f.Tensors() {
		size += int64(t.Size)
	}
	b.SetBytes(size)
	for b.Loop() {
		for _, t := range f.Tensors() {
			if _, _, err := f.Float32(t.Name); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkOpenRealModel measures parsing the header, metadata (262k-token vocabulary) and tensor table
// of the cached Gemma-3 270M model.
func BenchmarkOpenRealModel(b *testing.B) {
	path := testutil.ModelPath(b, testutil.Gemma3GGUF)
	for b.Loop() {
		f, err := Open(path)
		if err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}
