package safetensors

import (
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteOpenRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "model.safetensors")
	in := []Tensor{
		{Name: "b.f32", DType: "F32", Shape: []int{2, 3}, Data: []float32{1, -2, 3.5, 0, 1e-8, -7}},
		{Name: "a.f16", DType: "F16", Shape: []int{4}, Data: []float32{1, -0.5, 65504, 5.9604644775390625e-08}},
		{Name: "c.bf16", DType: "BF16", Shape: []int{2}, Data: []float32{3, -1.0078125}},
		{Name: "scalar", DType: "F32", Shape: nil, Data: []float32{42}},
		{Name: "empty", DType: "F32", Shape: []int{0, 3}, Data: nil},
	}
	if err := Write(path, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Metadata()["format"]; got != "pt" {
		t.Errorf("Metadata()[format] = %q, want pt", got)
	}
	infos := f.Tensors()
	if len(infos) != len(in) {
		t.Fatalf("len(Tensors()) = %d, want %d", len(infos), len(in))
	}
	for i, want := range in {
		if infos[i].Name != want.Name || infos[i].DType != want.DType {
			t.Errorf("Tensors()[%d] = %s %s, want %s %s", i, infos[i].Name, infos[i].DType, want.Name, want.DType)
		}
		got, shape, err := f.Float32(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		if len(shape) != len(want.Shape) {
			t.Errorf("%s: shape %v, want %v", want.Name, shape, want.Shape)
		}
		for j, v := range want.Data {
			// Exactly representable in every dtype used above, except the tiny f32 value.
			if got[j] != v {
				t.Errorf("%s[%d] = %v, want %v", want.Name, j, got[j], v)
			}
		}
	}
	if _, _, err := f.Float32("nope"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Float32(nope) error = %v, want ErrNotFound", err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("directory holds %d entries after Write, want 1 (temp file left behind?)", len(ents))
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.Float32("b.f32"); !errors.Is(err, ErrClosed) {
		t.Errorf("Float32 after Close error = %v, want ErrClosed", err)
	}
}

func TestWriteErrors(t *testing.T) {
	cases := []struct {
		name string
		ts   []Tensor
		want string
	}{
		{"bad dtype", []Tensor{{Name: "x", DType: "I8", Shape: []int{1}, Data: []float32{1}}}, "unsupported dtype"},
		{"size mismatch", []Tensor{{Name: "x", DType: "F32", Shape: []int{2}, Data: []float32{1}}}, "2 elements, data has 1"},
		{"duplicate", []Tensor{{Name: "x", DType: "F32", Shape: []int{1}, Data: []float32{1}}, {Name: "x", DType: "F32", Shape: []int{1}, Data: []float32{1}}}, "duplicate"},
		{"empty name", []Tensor{{Name: "", DType: "F32", Shape: []int{1}, Data: []float32{1}}}, "invalid name"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := Write(filepath.Join(t.TempDir(), "x.safetensors"), c.ts, nil)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("Write error = %v, want containing %q", err, c.want)
			}
		})
	}
}

func TestHalfConversion(t *testing.T) {
	cases := []struct {
		f    float32
		want uint16
	}{
		{0, 0}, {1, 0x3c00}, {-2, 0xc000}, {65504, 0x7bff}, {65520, 0x7c00}, {1e9, 0x7c00},
		{float32(math.Inf(-1)), 0xfc00}, {5.960464477539063e-08, 0x0001}, {2.9e-08, 0}, {3.0e-08, 0x0001},
		{6.097555160522461e-05, 0x03ff}, {6.103515625e-05, 0x0400}, {1.0009765625, 0x3c01},
		{1.00048828125, 0x3c00}, // tie → even
		{1.00146484375, 0x3c02}, // tie → even (up)
	}
	for _, c := range cases {
		if got := float32ToHalf(c.f); got != c.want {
			t.Errorf("float32ToHalf(%v) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
	// Every finite half value round-trips through float32.
	for h := 0; h < 1<<16; h++ {
		f := halfToFloat32(uint16(h))
		if f != f {
			continue
		}
		if got := float32ToHalf(f); got != uint16(h) {
			t.Fatalf("float32ToHalf(halfToFloat32(%#04x)) = %#04x", h, got)
		}
	}
	bf := []struct {
		f    float32
		want uint16
	}{{1, 0x3f80}, {-1.0078125, 0xbf81}, {1.00390625, 0x3f80}, {1.01171875, 0x3f82}}
	for _, c := range bf {
		if got := float32ToBF16(c.f); got != c.want {
			t.Errorf("float32ToBF16(%v) = %#04x, want %#04x", c.f, got, c.want)
		}
	}
}

// TestLargeParallelConversion checks the chunked parallel conversion against element-wise conversion.
func TestLargeParallelConversion(t *testing.T) {
	const n = 1<<20 + 123
	data := make([]float32, n)
	for i := range data {
		data[i] = float32(i%1000) / 7
	}
	path := filepath.Join(t.TempDir(), "big.safetensors")
	if err := Write(path, []Tensor{{Name: "w", DType: "BF16", Shape: []int{n}, Data: data}}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, _, err := f.Float32("w")
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range data {
		if want := bf16ToFloat32(float32ToBF16(v)); got[i] != want {
			t.Fatalf("w[%d] = %v, want %v", i, got[i], want)
		}
	}
}
