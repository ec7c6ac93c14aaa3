package safetensors

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// goldenTensor is one entry of testdata/mixed.golden.json (internal/reference/safetensors/gen_golden.py).
type goldenTensor struct {
	DType  string `json:"dtype"`
	Shape  []int  `json:"shape"`
	Values []any  `json:"values"` // numbers, or "inf"/"-inf"
}

// torchDType maps torch dtype names to safetensors dtype names.
var torchDType = map[string]string{
	"float32": "F32", "float16": "F16", "bfloat16": "BF16", "float64": "F64", "int64": "I64", "uint8": "U8",
}

// TestPythonGolden opens a file written by the Python safetensors package and compares every float tensor
// exactly with torch's float32 conversion (all conversions involved are exact or correctly rounded, so
// the tolerance is zero).
func TestPythonGolden(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "mixed.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var golden struct {
		Metadata map[string]string       `json:"metadata"`
		Tensors  map[string]goldenTensor `json:"tensors"`
	}
	if err := json.Unmarshal(raw, &golden); err != nil {
		t.Fatal(err)
	}
	f, err := Open(filepath.Join("testdata", "mixed.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.Metadata(); !reflect.DeepEqual(got, golden.Metadata) {
		t.Errorf("Metadata() = %v, want %v", got, golden.Metadata)
	}
	infos := f.Tensors()
	if len(infos) != len(golden.Tensors) {
		t.Errorf("len(Tensors()) = %d, want %d", len(infos), len(golden.Tensors))
	}
	for i := 1; i < len(infos); i++ {
		if infos[i].Offsets[0] < infos[i-1].Offsets[1] {
			t.Errorf("Tensors() not in file order at %d: %v after %v", i, infos[i].Offsets, infos[i-1].Offsets)
		}
	}
	for name, g := range golden.Tensors {
		info, ok := f.Info(name)
		if !ok {
			t.Errorf("Info(%s) missing", name)
			continue
		}
		if want := torchDType[g.DType]; info.DType != want {
			t.Errorf("%s: dtype %s, want %s", name, info.DType, want)
		}
		if len(info.Shape) != len(g.Shape) || (len(g.Shape) > 0 && !reflect.DeepEqual(info.Shape, g.Shape)) {
			t.Errorf("%s: shape %v, want %v", name, info.Shape, g.Shape)
		}
		got, _, err := f.Float32(name)
		if g.Values == nil {
			if err == nil {
				t.Errorf("%s (%s): Float32 succeeded, want ErrUnsupportedDType", name, info.DType)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(got) != len(g.Values) {
			t.Errorf("%s: %d values, want %d", name, len(got), len(g.Values))
			continue
		}
		for j, v := range g.Values {
			var want float32
			switch v := v.(type) {
			case float64:
				want = float32(v)
			case string:
				want = float32(math.Inf(map[string]int{"inf": 1, "-inf": -1}[v]))
			}
			if got[j] != want || math.Signbit(float64(got[j])) != math.Signbit(float64(want)) {
				t.Errorf("%s[%d] = %v, want %v", name, j, got[j], want)
			}
		}
	}
}
