package gguf

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// image builds a GGUF byte image by hand: version, counts, then raw KV and tensor-info bytes, padding to
// 32 and a data section of dataLen zero bytes.
type image struct {
	buf bytes.Buffer
}

func (im *image) u32(v uint32) *image { binary.Write(&im.buf, binary.LittleEndian, v); return im }
func (im *image) u64(v uint64) *image { binary.Write(&im.buf, binary.LittleEndian, v); return im }
func (im *image) str(s string) *image { im.u64(uint64(len(s))); im.buf.WriteString(s); return im }
func (im *image) raw(b ...byte) *image {
	im.buf.Write(b)
	return im
}
func (im *image) pad(n int) *image {
	for im.buf.Len()%32 != 0 {
		im.buf.WriteByte(0)
	}
	im.buf.Write(make([]byte, n))
	return im
}

func header(version uint32, nTensors, nKV uint64) *image {
	im := &image{}
	im.buf.WriteString("GGUF")
	return im.u32(version).u64(nTensors).u64(nKV)
}

// tensorInfo appends a tensor info: name, dims (GGUF order), type, offset.
func (im *image) tensorInfo(name string, typ GGMLType, off uint64, dims ...uint64) *image {
	im.str(name).u32(uint32(len(dims)))
	for _, d := range dims {
		im.u64(d)
	}
	return im.u32(uint32(typ)).u64(off)
}

func TestOpenInvalid(t *testing.T) {
	cases := []struct {
		name string
		file []byte
		want string
		is   error
	}{
		{"empty", nil, "too short", ErrFormat},
		{"magic", []byte("GGML\x03\x00\x00\x00"), "bad magic", ErrFormat},
		{"v1", header(1, 0, 0).buf.Bytes(), "version 1", ErrVersion},
		{"v4", header(4, 0, 0).buf.Bytes(), "version 4", ErrVersion},
		{"big endian", header(3<<24, 0, 0).buf.Bytes(), "big-endian", ErrVersion},
		{"short counts", []byte("GGUF\x03\x00\x00\x00\x01"), "tensor count", ErrFormat},
		{"huge kv count", header(3, 0, 1<<62).buf.Bytes(), "metadata count", ErrFormat},
		{"huge tensor count", header(3, 1<<40, 0).buf.Bytes(), "tensor count", ErrFormat},
		{"huge string", header(3, 0, 1).u64(1 << 60).raw(make([]byte, 16)...).buf.Bytes(), "metadata 0: key: string of 1152921504606846976 bytes", ErrFormat},
		{"huge array", header(3, 0, 1).str("k").u32(uint32(ValueArray)).u32(uint32(ValueUint64)).u64(1 << 59).buf.Bytes(), "metadata k: array of 576460752303423488 UINT64 values does not fit", ErrFormat},
		{"huge string array", header(3, 0, 1).str("k").u32(uint32(ValueArray)).u32(uint32(ValueString)).u64(1 << 40).buf.Bytes(), "array of 1099511627776 strings", ErrFormat},
		{"bad value type", header(3, 0, 1).str("k").u32(99).raw(make([]byte, 8)...).buf.Bytes(), "unknown value type 99", ErrFormat},
		{"dup key", header(3, 0, 2).str("k").u32(uint32(ValueUint8)).raw(1).str("k").u32(uint32(ValueUint8)).raw(2).buf.Bytes(), "metadata k: duplicate key", ErrFormat},
		{"bad alignment", header(3, 0, 1).str(AlignmentKey).u32(uint32(ValueUint32)).u32(3).buf.Bytes(), "general.alignment", ErrFormat},
		{"alignment string", header(3, 0, 1).str(AlignmentKey).u32(uint32(ValueString)).str("32").buf.Bytes(), "general.alignment", ErrFormat},
		{"truncated kv", header(3, 0, 1).str("k").u32(uint32(ValueUint32)).raw(1).buf.Bytes(), "metadata k", ErrFormat},
		{"too many dims", header(3, 1, 0).tensorInfo("w", TypeF32, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1).pad(4).buf.Bytes(), "tensor w: n_dims 9", ErrFormat},
		{"unknown type", header(3, 1, 0).tensorInfo("w", 77, 0, 1).pad(4).buf.Bytes(), "tensor w: unknown type 77", ErrFormat},
		{"block", header(3, 1, 0).tensorInfo("w", TypeQ4_0, 0, 16, 2).pad(64).buf.Bytes(), "tensor w: ne[0] = 16 is not a multiple of the Q4_0 block size 32", ErrFormat},
		{"overflow", header(3, 1, 0).tensorInfo("w", TypeF32, 0, 1<<32, 1<<32).pad(4).buf.Bytes(), "overflow", ErrFormat},
		{"unaligned", header(3, 1, 0).tensorInfo("w", TypeF32, 4, 1).pad(64).buf.Bytes(), "not a multiple of the alignment", ErrFormat},
		{"beyond", header(3, 1, 0).tensorInfo("blk.0.attn_q.weight", TypeF32, 0, 4, 4).pad(32).buf.Bytes(), "tensor blk.0.attn_q.weight: data [0,64) at file offset", ErrFormat},
		{"overlap", header(3, 2, 0).tensorInfo("a", TypeF32, 0, 16).tensorInfo("b", TypeF32, 32, 16).pad(128).buf.Bytes(), "tensor b: data [32,96) overlaps tensor a", ErrFormat},
		{"dup tensor", header(3, 2, 0).tensorInfo("a", TypeF32, 0, 1).tensorInfo("a", TypeF32, 32, 1).pad(64).buf.Bytes(), "tensor a: duplicate name", ErrFormat},
		{"deep arrays", func() []byte {
			im := header(3, 0, 1).str("k").u32(uint32(ValueArray))
			for i := 0; i < 20; i++ {
				im.u32(uint32(ValueArray)).u64(1)
			}
			return im.u32(uint32(ValueUint8)).u64(0).buf.Bytes()
		}(), "nested deeper", ErrFormat},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "model.gguf")
			if err := os.WriteFile(path, c.file, 0o644); err != nil {
				t.Fatal(err)
			}
			f, err := Open(path)
			if err == nil {
				f.Close()
				t.Fatalf("Open succeeded, want error containing %q", c.want)
			}
			if !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), "gguf model.gguf") {
				t.Errorf("Open error = %q, want containing %q and the file name", err, c.want)
			}
			if !errors.Is(err, c.is) {
				t.Errorf("Open error = %v, want errors.Is %v", err, c.is)
			}
		})
	}
}

// TestOpenV2 checks that a version-2 file (same little-endian layout as v3) opens.
func TestOpenV2(t *testing.T) {
	b := header(2, 1, 1).str("general.architecture").u32(uint32(ValueString)).str("llama").
		tensorInfo("w", TypeF32, 0, 2).pad(8).buf.Bytes()
	path := filepath.Join(t.TempDir(), "v2.gguf")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if f.Version() != 2 || f.Architecture() != "llama" {
		t.Errorf("Version, Architecture = %d, %q; want 2, llama", f.Version(), f.Architecture())
	}
	if v, shape, err := f.Float32("w"); err != nil || len(v) != 2 || shape[0] != 2 {
		t.Errorf("Float32(w) = %v, %v, %v", v, shape, err)
	}
}

func TestTypedGetters(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kv.gguf")
	if err := Write(path, allKVs(), nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	type result struct {
		v  any
		ok bool
	}
	pair := func(v any, ok bool) result { return result{v, ok} }
	cases := []struct {
		name string
		got  result
		want result
	}{
		{"String", pair(f.String("t.str")), result{"héllo\x00world", true}},
		{"String wrong type", pair(f.String("t.u8")), result{"", false}},
		{"String missing", pair(f.String("nope")), result{"", false}},
		{"Uint u8", pair(f.Uint("t.u8")), result{uint64(200), true}},
		{"Uint u64", pair(f.Uint("t.u64")), result{uint64(1<<64 - 1), true}},
		{"Uint negative", pair(f.Uint("t.i8")), result{uint64(0), false}},
		{"Uint alignment", pair(f.Uint("general.alignment")), result{uint64(64), true}},
		{"Int i64", pair(f.Int("t.i64")), result{int64(-1 << 63), true}},
		{"Int u32", pair(f.Int("t.u32")), result{int64(4000000000), true}},
		{"Int u64 max", pair(f.Int("t.u64")), result{int64(0), false}},
		{"Float f32", pair(f.Float("t.f32")), result{float64(float32(1e-6)), true}},
		{"Float f64", pair(f.Float("t.f64")), result{3.141592653589793, true}},
		{"Float int", pair(f.Float("t.i16")), result{-30000.0, true}},
		{"Float string", pair(f.Float("t.str")), result{0.0, false}},
		{"Bool", pair(f.Bool("t.bool")), result{true, true}},
	}
	for _, c := range cases {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if s, ok := f.Strings("t.strs"); !ok || len(s) != 3 || s[2] != "ü" {
		t.Errorf("Strings(t.strs) = %q, %v", s, ok)
	}
	if s, ok := f.Ints("t.i32s"); !ok || len(s) != 3 || s[0] != -1 {
		t.Errorf("Ints(t.i32s) = %v, %v", s, ok)
	}
	if s, ok := f.Floats("t.f32s"); !ok || len(s) != 2 || s[1] != -1 {
		t.Errorf("Floats(t.f32s) = %v, %v", s, ok)
	}
	if _, ok := f.Ints("t.strs"); ok {
		t.Errorf("Ints(t.strs) ok, want false")
	}
}

// FuzzOpen checks that no byte string makes the parser panic or allocate without bound, and that every
// tensor of a file that opens can be dequantised or is rejected cleanly.
func FuzzOpen(f *testing.F) {
	for _, name := range []string{"all_types.gguf"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add(header(3, 1, 1).str("general.architecture").u32(uint32(ValueString)).str("llama").
		tensorInfo("w", TypeQ4_0, 0, 32).pad(18).buf.Bytes())
	f.Add(header(2, 0, 1).str("k").u32(uint32(ValueArray)).u32(uint32(ValueArray)).u64(1).u32(uint32(ValueInt32)).u64(1).u32(7).buf.Bytes())
	f.Add([]byte("GGUF"))
	f.Fuzz(func(t *testing.T, b []byte) {
		gf, err := parse("fuzz.gguf", b)
		if err != nil {
			return
		}
		gf.unmap = func() error { return nil }
		gf.MetadataMap()
		for _, ti := range gf.Tensors() {
			gf.Float32(ti.Name)
		}
	})
}
