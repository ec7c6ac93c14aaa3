package gguf

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/agentlens/agentlens/internal/testutil"
)

// allTypesGolden is testdata/all_types.golden.json, written by internal/reference/gguf/gen_golden.py with
// gguf-py (GGUFWriter, GGUFReader, gguf.quants).
type allTypesGolden struct {
	Tensors []struct {
		Name   string    `json:"name"`
		Type   string    `json:"type"`
		Shape  []int     `json:"shape"`
		Input  []float32 `json:"input"`
		Values []float32 `json:"values"`
	} `json:"tensors"`
	Metadata []struct {
		Key   string          `json:"key"`
		Type  string          `json:"type"`
		Value json.RawMessage `json:"value"`
	} `json:"metadata"`
	Alignment   uint64              `json:"alignment"`
	DataOffset  uint64              `json:"data_offset"`
	TensorOrder []string            `json:"tensor_order"`
	TensorDims  map[string][]uint64 `json:"tensor_dims"`
}

func loadJSON(t *testing.T, name string, v any) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// tree converts a metadata value to the JSON form of the golden: scalars as JSON values, arrays as
// {"elem_type": NAME, "values": [...]}.
func tree(v any) any {
	switch s := v.(type) {
	case []any:
		vals := make([]any, len(s))
		for i, e := range s {
			vals[i] = tree(e)
		}
		return map[string]any{"elem_type": "ARRAY", "values": vals}
	case []string, []uint8, []int8, []uint16, []int16, []uint32, []int32, []uint64, []int64, []float32, []float64, []bool:
		var vals []any
		forEach(s, func(e any) { vals = append(vals, tree(e)) })
		if vals == nil {
			vals = []any{}
		}
		return map[string]any{"elem_type": elemType(s).String(), "values": vals}
	case float32:
		return json.Number(fmt.Sprint(float64(s)))
	}
	return v
}

// normalise re-decodes a JSON value with UseNumber so that numbers compare as their decimal text.
func normalise(t *testing.T, v any) any {
	t.Helper()
	raw, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestGGUFPyAllTypes reads a file written by gguf-py's GGUFWriter and compares metadata (as read back by
// GGUFReader), the tensor table, and every tensor's dequantised values with gguf.quants.dequantize
// exactly: both sides do the same float32 operations in the same order, so the tolerance is zero. For
// the types gguf-py can quantise, our quantiser must reproduce its bytes exactly too.
func TestGGUFPyAllTypes(t *testing.T) {
	var g allTypesGolden
	loadJSON(t, "all_types.golden.json", &g)
	f, err := Open(filepath.Join("testdata", "all_types.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Alignment() != g.Alignment || f.DataOffset() != g.DataOffset {
		t.Errorf("Alignment, DataOffset = %d, %d; want %d, %d", f.Alignment(), f.DataOffset(), g.Alignment, g.DataOffset)
	}
	md := f.Metadata()
	if len(md) != len(g.Metadata) {
		t.Fatalf("len(Metadata()) = %d, want %d", len(md), len(g.Metadata))
	}
	for i, want := range g.Metadata {
		got := md[i]
		if got.Key != want.Key || got.Type.String() != want.Type {
			t.Errorf("Metadata()[%d] = %s %s, want %s %s", i, got.Key, got.Type, want.Key, want.Type)
			continue
		}
		var wantV any
		dec := json.NewDecoder(bytes.NewReader(want.Value))
		dec.UseNumber()
		if err := dec.Decode(&wantV); err != nil {
			t.Fatal(err)
		}
		if gotV := normalise(t, tree(got.Value)); !reflect.DeepEqual(gotV, wantV) {
			t.Errorf("%s = %v, want %v", got.Key, gotV, wantV)
		}
		if mv := f.MetadataMap()[got.Key]; !reflect.DeepEqual(mv, got.Value) {
			t.Errorf("MetadataMap()[%s] = %#v, want %#v", got.Key, mv, got.Value)
		}
	}
	infos := f.Tensors()
	if len(infos) != len(g.TensorOrder) {
		t.Fatalf("len(Tensors()) = %d, want %d", len(infos), len(g.TensorOrder))
	}
	for i, name := range g.TensorOrder {
		if infos[i].Name != name || !reflect.DeepEqual(infos[i].Dims, g.TensorDims[name]) {
			t.Errorf("Tensors()[%d] = %s %v, want %s %v", i, infos[i].Name, infos[i].Dims, name, g.TensorDims[name])
		}
	}
	for _, want := range g.Tensors {
		t.Run(want.Name, func(t *testing.T) {
			info, ok := f.Tensor(want.Name)
			if !ok {
				t.Fatalf("tensor %s missing", want.Name)
			}
			if info.Type.String() != want.Type {
				t.Errorf("type %s, want %s", info.Type, want.Type)
			}
			got, shape, err := f.Float32(want.Name)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(shape, want.Shape) {
				t.Errorf("shape %v, want %v", shape, want.Shape)
			}
			if len(got) != len(want.Values) {
				t.Fatalf("%d values, want %d", len(got), len(want.Values))
			}
			bad := 0
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want.Values[i]) {
					if bad++; bad <= 5 {
						t.Errorf("[%d] = %v, want %v", i, got[i], want.Values[i])
					}
				}
			}
			if want.Input == nil {
				return
			}
			q, err := Quantize(info.Type, want.Input)
			if err != nil {
				t.Fatal(err)
			}
			raw, _, _ := f.Bytes(want.Name)
			if !bytes.Equal(q, raw) {
				for i := range q {
					if q[i] != raw[i] {
						t.Errorf("Quantize(%s) differs from gguf-py at byte %d (block %d): %#02x, want %#02x", info.Type, i, i/info.Type.BlockBytes(), q[i], raw[i])
						break
					}
				}
			}
		})
	}
}

// realGolden is one model of testdata/real_models.golden.json (gguf-py's GGUFReader + dequantize).
type realGolden struct {
	Version      uint32            `json:"version"`
	NTensors     int               `json:"n_tensors"`
	NKV          int               `json:"n_kv"`
	DataOffset   uint64            `json:"data_offset"`
	Metadata     map[string]any    `json:"metadata"`
	NTokens      int               `json:"n_tokens"`
	TokensFirst5 []string          `json:"tokens_first5"`
	TypeCounts   map[string]int    `json:"type_counts"`
	Tensors      []realTensorStats `json:"tensors"`
}

type realTensorStats struct {
	Name     string    `json:"name"`
	Type     string    `json:"type"`
	Shape    []int     `json:"shape"`
	N        int       `json:"n"`
	Sum      float64   `json:"sum"`
	SumSq    float64   `json:"sum_sq"`
	First8   []float32 `json:"first8"`
	MidIndex int       `json:"mid_index"`
	Mid4     []float32 `json:"mid4"`
	Last4    []float32 `json:"last4"`
}

// TestRealModels compares header facts and selected tensors of the cached real models (every tensor type
// they use: F32, Q4_1, Q8_0, Q4_K, Q5_0, Q6_K) with gguf-py. Sampled values must match exactly; sums are
// float64 sums of the same float32 values in a different order, so they get a relative tolerance of 1e-9
// plus 1e-6 absolute (n ≤ 1.7e8 terms of magnitude ≤ 1).
func TestRealModels(t *testing.T) {
	var golden map[string]realGolden
	loadJSON(t, "real_models.golden.json", &golden)
	for _, model := range []string{testutil.SmolLM2GGUF, testutil.Gemma3GGUF} {
		t.Run(model, func(t *testing.T) {
			want, ok := golden[model]
			if !ok {
				t.Skipf("no golden for %s", model)
			}
			f, err := Open(testutil.ModelPath(t, model))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if f.Version() != want.Version || len(f.Tensors()) != want.NTensors || len(f.Metadata()) != want.NKV || f.DataOffset() != want.DataOffset {
				t.Errorf("version, tensors, kvs, data offset = %d, %d, %d, %d; want %d, %d, %d, %d", f.Version(), len(f.Tensors()), len(f.Metadata()), f.DataOffset(),
					want.Version, want.NTensors, want.NKV, want.DataOffset)
			}
			for k, v := range want.Metadata {
				got, _ := f.Get(k)
				if fmt.Sprint(got) != fmt.Sprint(v) {
					t.Errorf("Get(%s) = %v, want %v", k, got, v)
				}
			}
			toks, ok := f.Strings("tokenizer.ggml.tokens")
			if !ok || len(toks) != want.NTokens || !reflect.DeepEqual(toks[:5], want.TokensFirst5) {
				t.Errorf("tokenizer.ggml.tokens: %d tokens, want %d (first %q)", len(toks), want.NTokens, want.TokensFirst5)
			}
			counts := map[string]int{}
			for _, ti := range f.Tensors() {
				counts[ti.Type.String()]++
			}
			if !reflect.DeepEqual(counts, want.TypeCounts) {
				t.Errorf("type counts = %v, want %v", counts, want.TypeCounts)
			}
			for _, ws := range want.Tensors {
				got, shape, err := f.Float32(ws.Name)
				if err != nil {
					t.Errorf("%s: %v", ws.Name, err)
					continue
				}
				if !reflect.DeepEqual(shape, ws.Shape) || len(got) != ws.N {
					t.Errorf("%s: shape %v (%d values), want %v (%d)", ws.Name, shape, len(got), ws.Shape, ws.N)
					continue
				}
				var sum, sumSq float64
				for _, v := range got {
					sum += float64(v)
					sumSq += float64(v) * float64(v)
				}
				if d := math.Abs(sum - ws.Sum); d > 1e-6+1e-9*math.Abs(ws.Sum) {
					t.Errorf("%s (%s): sum %v, want %v", ws.Name, ws.Type, sum, ws.Sum)
				}
				if d := math.Abs(sumSq - ws.SumSq); d > 1e-6+1e-9*ws.SumSq {
					t.Errorf("%s (%s): sum of squares %v, want %v", ws.Name, ws.Type, sumSq, ws.SumSq)
				}
				samples := []struct {
					at   int
					want []float32
				}{{0, ws.First8}, {ws.MidIndex, ws.Mid4}, {ws.N - len(ws.Last4), ws.Last4}}
				for _, s := range samples {
					if g := got[s.at : s.at+len(s.want)]; !reflect.DeepEqual(g, s.want) {
						t.Errorf("%s (%s): values at %d = %v, want %v", ws.Name, ws.Type, s.at, g, s.want)
					}
				}
			}
		})
	}
}
