package gguf

import (
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// allKVs holds one metadata value of every GGUF type, nested arrays included.
func allKVs() []KV {
	return []KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "general.alignment", Value: uint32(64)},
		{Key: "t.u8", Value: uint8(200)},
		{Key: "t.i8", Value: int8(-100)},
		{Key: "t.u16", Value: uint16(60000)},
		{Key: "t.i16", Value: int16(-30000)},
		{Key: "t.u32", Value: uint32(4000000000)},
		{Key: "t.i32", Value: int32(-2000000000)},
		{Key: "t.u64", Value: uint64(math.MaxUint64)},
		{Key: "t.i64", Value: int64(math.MinInt64)},
		{Key: "t.f32", Value: float32(1e-6)},
		{Key: "t.f64", Value: 3.141592653589793},
		{Key: "t.bool", Value: true},
		{Key: "t.str", Value: "héllo\x00world"},
		{Key: "t.strs", Value: []string{"a", "", "ü"}},
		{Key: "t.i32s", Value: []int32{-1, 2, 3}},
		{Key: "t.f32s", Value: []float32{0.5, -1}},
		{Key: "t.u8s", Value: []uint8{}},
		{Key: "t.bools", Value: []bool{true, false}},
		{Key: "t.u64s", Value: []uint64{1 << 40}},
		{Key: "t.nested", Value: []any{[]string{"x", "y"}, []int32{7}, []any{[]uint16{1, 2}}}},
	}
}

func TestWriteOpenRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	randn := func(n int) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(rng.NormFloat64())
		}
		return v
	}
	path := filepath.Join(t.TempDir(), "tiny.gguf")
	ts := []WriteTensor{
		{Name: "token_embd.weight", Type: TypeF32, Shape: []int{3, 4}, Data: randn(12)},
		{Name: "blk.0.attn_q.weight", Type: TypeF16, Shape: []int{2, 64}, Data: randn(128)},
		{Name: "blk.0.attn_k.weight", Type: TypeQ8_0, Shape: []int{2, 64}, Data: randn(128)},
		{Name: "blk.0.attn_v.weight", Type: TypeQ4_0, Shape: []int{64}, Data: randn(64)},
		{Name: "blk.0.ffn_up.weight", Type: TypeQ4_1, Shape: []int{1, 2, 32}, Data: randn(64)},
		{Name: "blk.0.ffn_down.weight", Type: TypeQ5_0, Shape: []int{32}, Data: randn(32)},
		{Name: "blk.0.ffn_gate.weight", Type: TypeQ5_1, Shape: []int{32}, Data: randn(32)},
		{Name: "output_norm.weight", Type: TypeBF16, Shape: []int{5}, Data: randn(5)},
		{Name: "raw", Type: TypeI8, Shape: []int{3}, Raw: []byte{1, 0xff, 3}},
	}
	kvs := allKVs()
	if err := Write(path, kvs, ts); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Version() != 3 || f.Alignment() != 64 || f.DataOffset()%64 != 0 {
		t.Errorf("Version, Alignment, DataOffset = %d, %d, %d; want 3, 64, multiple of 64", f.Version(), f.Alignment(), f.DataOffset())
	}
	md := f.Metadata()
	if len(md) != len(kvs) {
		t.Fatalf("len(Metadata()) = %d, want %d", len(md), len(kvs))
	}
	for i, kv := range kvs {
		if md[i].Key != kv.Key || !reflect.DeepEqual(md[i].Value, kv.Value) {
			t.Errorf("Metadata()[%d] = %s: %#v, want %s: %#v", i, md[i].Key, md[i].Value, kv.Key, kv.Value)
		}
	}
	if got := f.Architecture(); got != "llama" {
		t.Errorf("Architecture() = %q, want llama", got)
	}
	infos := f.Tensors()
	for i, wt := range ts {
		ti := infos[i]
		if ti.Name != wt.Name || ti.Type != wt.Type || ti.Offset%64 != 0 {
			t.Errorf("Tensors()[%d] = %s %s @%d, want %s %s aligned", i, ti.Name, ti.Type, ti.Offset, wt.Name, wt.Type)
		}
		got, shape, err := f.Float32(wt.Name)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(shape, wt.Shape) {
			t.Errorf("%s: shape %v, want %v", wt.Name, shape, wt.Shape)
		}
		if wt.Raw != nil {
			if want := []float32{1, -1, 3}; !reflect.DeepEqual(got, want) {
				t.Errorf("%s = %v, want %v", wt.Name, got, want)
			}
			continue
		}
		// Quantisation error bounds: half a step of the block scale; F16/BF16 relative rounding.
		for j, v := range wt.Data {
			tol := map[GGMLType]float64{TypeF32: 0, TypeF16: 1e-3, TypeBF16: 8e-3, TypeQ8_0: 0.02, TypeQ4_0: 0.35, TypeQ4_1: 0.2, TypeQ5_0: 0.17, TypeQ5_1: 0.1}[wt.Type]
			if d := math.Abs(float64(got[j] - v)); d > tol*math.Max(1, math.Abs(float64(v))) {
				t.Errorf("%s[%d] = %v, want %v ± %v", wt.Name, j, got[j], v, tol)
			}
		}
	}
	raw, _, err := f.Bytes("raw")
	if err != nil || string(raw) != "\x01\xff\x03" {
		t.Errorf("Bytes(raw) = %q, %v", raw, err)
	}
}

func TestWriteErrors(t *testing.T) {
	cases := []struct {
		name string
		kvs  []KV
		ts   []WriteTensor
		want string
	}{
		{"int value", []KV{{Key: "k", Value: 3}}, nil, "metadata k: Go type int"},
		{"dup key", []KV{{Key: "k", Value: "a"}, {Key: "k", Value: "b"}}, nil, "duplicate key"},
		{"bad alignment", []KV{{Key: AlignmentKey, Value: uint32(3)}}, nil, "power-of-two"},
		{"alignment type", []KV{{Key: AlignmentKey, Value: uint64(32)}}, nil, "power-of-two uint32"},
		{"nested scalar", []KV{{Key: "k", Value: []any{"x"}}}, nil, "may only hold arrays"},
		{"block", nil, []WriteTensor{{Name: "w", Type: TypeQ4_0, Shape: []int{2, 16}, Data: make([]float32, 32)}}, "not a multiple of the Q4_0 block size"},
		{"count", nil, []WriteTensor{{Name: "w", Type: TypeF32, Shape: []int{2}, Data: make([]float32, 3)}}, "Data has 3"},
		{"raw size", nil, []WriteTensor{{Name: "w", Type: TypeQ4_K, Shape: []int{256}, Raw: make([]byte, 10)}}, "needs 144 bytes"},
		{"no quantiser", nil, []WriteTensor{{Name: "w", Type: TypeIQ4_NL, Shape: []int{32}, Data: make([]float32, 32)}}, "unsupported tensor type"},
		{"dup tensor", nil, []WriteTensor{{Name: "w", Type: TypeF32, Shape: []int{1}, Data: []float32{1}}, {Name: "w", Type: TypeF32, Shape: []int{1}, Data: []float32{1}}}, "duplicate name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			err := Write(filepath.Join(dir, "x.gguf"), c.kvs, c.ts)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Write error = %v, want containing %q", err, c.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Errorf("failed Write left %d files", len(ents))
			}
		})
	}
}

func TestFloat32Errors(t *testing.T) {
	path := filepath.Join(t.TempDir(), "x.gguf")
	if err := Write(path, nil, []WriteTensor{{Name: "iq", Type: TypeIQ2_XXS, Shape: []int{256}, Raw: make([]byte, 66)}}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Float32("iq"); !errors.Is(err, ErrUnsupportedType) || !strings.Contains(err.Error(), "tensor iq: type IQ2_XXS") {
		t.Errorf("Float32(iq) error = %v, want ErrUnsupportedType naming tensor and type", err)
	}
	if _, _, err := f.Float32("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Float32(nope) error = %v, want ErrNotFound", err)
	}
	f.Close()
	if _, _, err := f.Float32("iq"); !errors.Is(err, ErrClosed) {
		t.Errorf("Float32 after Close error = %v, want ErrClosed", err)
	}
}

// TestQuantizeRoundTrip quantises random normal data and checks the dequantised error against a bound
// per type: a fraction of the block's value range (half a quantisation step, plus scale rounding).
func TestQuantizeRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	const n = 4096
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	x[0], x[1] = 0, 5 // an outlier and an exact zero
	for i := 512; i < 768; i++ {
		x[i] = 0 // an all-zero super-block
	}
	for i := 768; i < 1024; i++ {
		x[i] = 1 + float32(i%7) // a positive-only super-block
	}
	cases := []struct {
		typ GGMLType
		// maxErr bounds |x − x̂| relative to the super-block's largest |x| (≈ 1/levels plus slack).
		maxErr float64
		rms    float64 // bound on the RMS error over all values, same units as x
	}{
		// Q8_0: half a step of amax/127. Q4_0/Q5_0: values of the sign opposite to the block's extreme
		// clip one step (amax/8, amax/16) short. Q4_1/Q5_1: half a step of range/15, range/31.
		{TypeQ8_0, 0.005, 0.01},
		{TypeQ4_0, 0.13, 0.12},
		{TypeQ4_1, 0.07, 0.09},
		{TypeQ5_0, 0.065, 0.06},
		{TypeQ5_1, 0.035, 0.045},
		{TypeQ8_K, 0.005, 0.01},
		{TypeQ6_K, 0.04, 0.03}, // symmetric like Q5_0: the opposite sign clips one step (amax/32) short
		{TypeQ5_K, 0.04, 0.05},
		{TypeQ4_K, 0.08, 0.1},
	}
	for _, c := range cases {
		t.Run(c.typ.String(), func(t *testing.T) {
			raw, err := Quantize(c.typ, x)
			if err != nil {
				t.Fatal(err)
			}
			y, err := Dequantize(c.typ, raw, n)
			if err != nil {
				t.Fatal(err)
			}
			var sq float64
			for b := 0; b < n; b += 256 {
				var amax float64
				for _, v := range x[b : b+256] {
					amax = math.Max(amax, math.Abs(float64(v)))
				}
				for i := b; i < b+256; i++ {
					d := math.Abs(float64(y[i] - x[i]))
					sq += d * d
					if d > c.maxErr*amax+1e-7 {
						t.Errorf("x[%d] = %v → %v (error %.4f > %.4f·%.2f)", i, x[i], y[i], d, c.maxErr, amax)
					}
				}
			}
			if rms := math.Sqrt(sq / n); rms > c.rms {
				t.Errorf("RMS error %.4f > %.4f", rms, c.rms)
			}
		})
	}
}
