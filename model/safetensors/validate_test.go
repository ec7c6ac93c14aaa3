package safetensors

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawFile builds a safetensors image from a header string and a data section of n zero bytes.
func rawFile(header string, n int) []byte {
	b := make([]byte, 8, 8+len(header)+n)
	binary.LittleEndian.PutUint64(b, uint64(len(header)))
	b = append(b, header...)
	return append(b, make([]byte, n)...)
}

func TestOpenInvalid(t *testing.T) {
	cases := []struct {
		name string
		file []byte
		want string // substring of the error
		is   error
	}{
		{"empty", nil, "shorter than the 8-byte header length", ErrFormat},
		{"short header", rawFile(`{"a":`, 0)[:10], "beyond file size", ErrFormat},
		{"huge header length", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'}, "exceeds", ErrFormat},
		{"not object", rawFile(`[1,2]   `, 0), "not a JSON object", ErrFormat},
		{"garbled json", rawFile(`{"a":{"dtype":"F32",`, 0), "tensor a", ErrFormat},
		{"unknown dtype", rawFile(`{"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}}`, 4), "tensor w: dtype \"Q4\"", ErrUnknownDType},
		{"missing offsets", rawFile(`{"w":{"dtype":"F32","shape":[1]}}`, 4), "tensor w: missing data_offsets", ErrFormat},
		{"beyond file", rawFile(`{"model.layers.0.q_proj.weight":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, 8),
			"tensor model.layers.0.q_proj.weight: data offsets [0,16] beyond file size", ErrFormat},
		{"size mismatch", rawFile(`{"w":{"dtype":"F16","shape":[2,3],"data_offsets":[0,8]}}`, 8), "needs 12 bytes", ErrFormat},
		{"reversed offsets", rawFile(`{"w":{"dtype":"U8","shape":[0],"data_offsets":[4,0]}}`, 8), "bad data offsets", ErrFormat},
		{"negative dim", rawFile(`{"w":{"dtype":"U8","shape":[-1],"data_offsets":[0,0]}}`, 8), "negative dimension", ErrFormat},
		{"overflow", rawFile(`{"w":{"dtype":"F64","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, 8), "overflows", ErrFormat},
		{"overlap", rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}`, 12),
			"tensor b: data offsets [4,12] overlap tensor a", ErrFormat},
		{"duplicate", rawFile(`{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}`, 2), "duplicate", ErrFormat},
		{"trailing", rawFile(`{}{}`, 0), "trailing data", ErrFormat},
		{"bad metadata", rawFile(`{"__metadata__":{"a":1}}`, 0), "__metadata__", ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.safetensors")
			if err := os.WriteFile(path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded, want error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "model.safetensors") {
				t.Errorf("Open error = %q, want containing %q and the file name", err, c.want)
			}
			if !errors.Is(err, c.is) {
				t.Errorf("Open error = %v, want errors.Is %v", err, c.is)
			}
		})
	}
}

func TestOpenDir(t *testing.T) {
	t.Run("single", func(t *testing.T) {
		dir := t.TempDir()
		if err := Write(filepath.Join(dir, SingleFile), []Tensor{{Name: "w", DType: "F32", Shape: []int{2}, Data: []float32{1, 2}}}, nil); err != nil {
			t.Fatal(err)
		}
		s, err := OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		got, shape, err := s.Float32("w")
		if err != nil || len(got) != 2 || got[1] != 2 || shape[0] != 2 {
			t.Errorf("Float32(w) = %v, %v, %v; want [1 2], [2], nil", got, shape, err)
		}
	})
	sharded := func(t *testing.T, index string) string {
		dir := t.TempDir()
		if err := Write(filepath.Join(dir, "model-00001-of-00002.safetensors"), []Tensor{
			{Name: "a", DType: "F32", Shape: []int{1}, Data: []float32{1}},
			{Name: "b", DType: "BF16", Shape: []int{1}, Data: []float32{2}},
		}, map[string]string{"format": "pt"}); err != nil {
			t.Fatal(err)
		}
		if err := Write(filepath.Join(dir, "model-00002-of-00002.safetensors"), []Tensor{
			{Name: "c", DType: "F16", Shape: []int{1, 1}, Data: []float32{3}},
		}, nil); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, IndexFile), []byte(index), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	t.Run("sharded", func(t *testing.T) {
		dir := sharded(t, `{"metadata":{"total_size":10},"weight_map":{"a":"model-00001-of-00002.safetensors","b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}`)
		s, err := OpenDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		var names []string
		for _, i := range s.Tensors() {
			names = append(names, i.Name)
		}
		if strings.Join(names, ",") != "a,b,c" {
			t.Errorf("Tensors() names = %v, want [a b c]", names)
		}
		for i, n := range names {
			got, _, err := s.Float32(n)
			if err != nil || got[0] != float32(i+1) {
				t.Errorf("Float32(%s) = %v, %v; want [%d]", n, got, err, i+1)
			}
		}
		if info, ok := s.Info("c"); !ok || info.DType != "F16" {
			t.Errorf("Info(c) = %v, %v; want F16", info, ok)
		}
		if _, _, err := s.Float32("zz"); !errors.Is(err, ErrNotFound) {
			t.Errorf("Float32(zz) error = %v, want ErrNotFound", err)
		}
	})
	errCases := []struct {
		name, index, want string
	}{
		{"missing tensor", `{"weight_map":{"a":"model-00001-of-00002.safetensors","x":"model-00002-of-00002.safetensors"}}`, "tensor x: not in shard"},
		{"wrong shard", `{"weight_map":{"a":"model-00002-of-00002.safetensors","b":"model-00001-of-00002.safetensors","c":"model-00002-of-00002.safetensors"}}`, "tensor a: listed in shard"},
		{"missing shard", `{"weight_map":{"a":"model-00003-of-00003.safetensors"}}`, "model-00003-of-00003.safetensors"},
		{"path escape", `{"weight_map":{"a":"../x.safetensors"}}`, "not a file name"},
		{"empty map", `{"weight_map":{}}`, "weight_map: empty"},
		{"garbled", `{"weight_map":`, "invalid safetensors"},
	}
	for _, c := range errCases {
		t.Run(c.name, func(t *testing.T) {
			s, err := OpenDir(sharded(t, c.index))
			if err == nil {
				s.Close()
				t.Fatalf("OpenDir succeeded, want error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("OpenDir error = %q, want containing %q", err, c.want)
			}
		})
	}
	t.Run("empty dir", func(t *testing.T) {
		if _, err := OpenDir(t.TempDir()); err == nil || !strings.Contains(err.Error(), IndexFile) {
			t.Errorf("OpenDir(empty) error = %v, want naming %s", err, IndexFile)
		}
	})
}

// FuzzOpen checks that no byte string makes Open panic, and that whatever opens can be read.
func FuzzOpen(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "mixed.safetensors")); err == nil {
		f.Add(b)
	}
	f.Add(rawFile(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"BF16","shape":[],"data_offsets":[8,10]}}`, 10))
	f.Add(rawFile(`{"__metadata__":{"k":"v"}}`, 0))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := parse("fuzz.safetensors", b)
		if err != nil {
			return
		}
		img.unmap = func() error { return nil }
		for _, info := range img.Tensors() {
			img.Float32(info.Name)
			img.Bytes(info.Name)
		}
	})
}
