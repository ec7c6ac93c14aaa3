package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// WriteTensor is one tensor to write. Its values are given either as float32 Data, quantised to Type by
// Write, or as Raw bytes already encoded in Type (for types Quantize does not support).
type WriteTensor struct {
	Name string
	Type GGMLType
	// Shape is the row-major shape, as File.Float32 returns it (e.g. [n_vocab, n_embd]); it is written
	// reversed as GGUF dims. Its last axis must be a multiple of the type's block size.
	Shape []int
	Data  []float32 // product(Shape) values, or nil when Raw is set
	Raw   []byte    // pre-encoded data, or nil
}

// Write writes a GGUF v3 file with the given metadata (in order) and tensors (in order, each aligned to
// general.alignment, default 32). Metadata values are encoded by their Go type: uint8, int8, uint16,
// int16, uint32, int32, uint64, int64, float32, float64, bool, string, a slice of one of those (an
// ARRAY), or []any of such slices (an ARRAY of arrays); other types (including int) give ErrBadValue.
// The file is written to a temporary file in the same directory and renamed.
func Write(path string, kvs []KV, tensors []WriteTensor) error {
	name := filepath.Base(path)
	fail := func(err error) error { return fmt.Errorf("gguf %s: %w", name, err) }
	alignment := uint64(DefaultAlignment)
	seen := map[string]bool{}
	for _, kv := range kvs {
		if seen[kv.Key] {
			return fail(fmt.Errorf("metadata %s: duplicate key: %w", kv.Key, ErrBadValue))
		}
		seen[kv.Key] = true
		if _, err := valueType(kv.Value); err != nil {
			return fail(fmt.Errorf("metadata %s: %w", kv.Key, err))
		}
		if kv.Key == AlignmentKey {
			a, ok := asUint(kv.Value)
			if _, u32 := kv.Value.(uint32); !ok || !u32 || a == 0 || a&(a-1) != 0 {
				return fail(fmt.Errorf("metadata %s: %v (%T) is not a power-of-two uint32: %w", kv.Key, kv.Value, kv.Value, ErrBadValue))
			}
			alignment = a
		}
	}
	// Encode tensor data first, so that invalid tensors fail before any file is created.
	type encoded struct {
		dims []uint64
		data []byte
		off  uint64
	}
	enc := make([]encoded, len(tensors))
	names := map[string]bool{}
	var off uint64
	for i, t := range tensors {
		if names[t.Name] {
			return fail(fmt.Errorf("tensor %s: duplicate name: %w", t.Name, ErrBadValue))
		}
		names[t.Name] = true
		if !t.Type.Known() {
			return fail(fmt.Errorf("tensor %s: type %s: %w", t.Name, t.Type, ErrUnsupportedType))
		}
		n := 1
		dims := make([]uint64, len(t.Shape))
		for j, d := range t.Shape {
			if d < 0 {
				return fail(fmt.Errorf("tensor %s: negative dimension in shape %v: %w", t.Name, t.Shape, ErrBadValue))
			}
			n *= d
			dims[len(t.Shape)-1-j] = uint64(d)
		}
		size, err := tensorSize(t.Type, dims)
		if err != nil {
			return fail(fmt.Errorf("tensor %s: shape %v: %v: %w", t.Name, t.Shape, err, ErrBadValue))
		}
		var data []byte
		switch {
		case t.Raw != nil && t.Data != nil:
			return fail(fmt.Errorf("tensor %s: both Data and Raw set: %w", t.Name, ErrBadValue))
		case t.Raw != nil:
			if uint64(len(t.Raw)) != size {
				return fail(fmt.Errorf("tensor %s: %s shape %v needs %d bytes, Raw has %d: %w", t.Name, t.Type, t.Shape, size, len(t.Raw), ErrBadValue))
			}
			data = t.Raw
		default:
			if len(t.Data) != n {
				return fail(fmt.Errorf("tensor %s: shape %v has %d elements, Data has %d: %w", t.Name, t.Shape, n, len(t.Data), ErrBadValue))
			}
			if data, err = Quantize(t.Type, t.Data); err != nil {
				return fail(fmt.Errorf("tensor %s: %w", t.Name, err))
			}
		}
		enc[i] = encoded{dims: dims, data: data, off: off}
		off = alignUp(off+uint64(len(data)), alignment)
	}

	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return fail(err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := &countWriter{w: bufio.NewWriterSize(tmp, 1<<20)}
	w.bytes([]byte(Magic))
	w.u32(3)
	w.u64(uint64(len(tensors)))
	w.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		w.str(kv.Key)
		vt, _ := valueType(kv.Value)
		w.u32(uint32(vt))
		w.value(kv.Value)
	}
	for i, t := range tensors {
		w.str(t.Name)
		w.u32(uint32(len(enc[i].dims)))
		for _, d := range enc[i].dims {
			w.u64(d)
		}
		w.u32(uint32(t.Type))
		w.u64(enc[i].off)
	}
	w.pad(alignment)
	for i := range tensors {
		w.bytes(enc[i].data)
		w.pad(alignment)
	}
	if w.err == nil {
		w.err = w.w.(*bufio.Writer).Flush()
	}
	if w.err != nil {
		return fail(fmt.Errorf("write: %w", w.err))
	}
	if err := tmp.Sync(); err != nil {
		return fail(fmt.Errorf("sync: %w", err))
	}
	if err := tmp.Close(); err != nil {
		return fail(fmt.Errorf("close: %w", err))
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fail(err)
	}
	ok = true
	return nil
}

func alignUp(n, a uint64) uint64 { return (n + a - 1) / a * a }

// valueType returns the GGUF type of a Go metadata value.
func valueType(v any) (ValueType, error) {
	switch v := v.(type) {
	case uint8:
		return ValueUint8, nil
	case int8:
		return ValueInt8, nil
	case uint16:
		return ValueUint16, nil
	case int16:
		return ValueInt16, nil
	case uint32:
		return ValueUint32, nil
	case int32:
		return ValueInt32, nil
	case uint64:
		return ValueUint64, nil
	case int64:
		return ValueInt64, nil
	case float32:
		return ValueFloat32, nil
	case float64:
		return ValueFloat64, nil
	case bool:
		return ValueBool, nil
	case string:
		return ValueString, nil
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []uint64, []int64, []float32, []float64,
		[]bool, []string:
		return ValueArray, nil
	case []any:
		for i, e := range v {
			t, err := valueType(e)
			if err != nil {
				return 0, fmt.Errorf("element %d: %w", i, err)
			}
			if t != ValueArray {
				return 0, fmt.Errorf("element %d: []any may only hold arrays, got %T: %w", i, e, ErrBadValue)
			}
		}
		return ValueArray, nil
	}
	return 0, fmt.Errorf("Go type %T has no GGUF value type (use a sized type such as uint32): %w", v, ErrBadValue)
}

// elemType returns the GGUF element type of a slice accepted by valueType.
func elemType(v any) ValueType {
	switch v.(type) {
	case []uint8:
		return ValueUint8
	case []int8:
		return ValueInt8
	case []uint16:
		return ValueUint16
	case []int16:
		return ValueInt16
	case []uint32:
		return ValueUint32
	case []int32:
		return ValueInt32
	case []uint64:
		return ValueUint64
	case []int64:
		return ValueInt64
	case []float32:
		return ValueFloat32
	case []float64:
		return ValueFloat64
	case []bool:
		return ValueBool
	case []string:
		return ValueString
	}
	return ValueArray
}

// countWriter writes little-endian values, keeping the first error and the byte count.
type countWriter struct {
	w   io.Writer
	n   uint64
	err error
	buf [8]byte
}

func (w *countWriter) bytes(b []byte) {
	if w.err != nil {
		return
	}
	_, w.err = w.w.Write(b)
	w.n += uint64(len(b))
}

func (w *countWriter) u8(v uint8)   { w.bytes([]byte{v}) }
func (w *countWriter) u16(v uint16) { binary.LittleEndian.PutUint16(w.buf[:], v); w.bytes(w.buf[:2]) }
func (w *countWriter) u32(v uint32) { binary.LittleEndian.PutUint32(w.buf[:], v); w.bytes(w.buf[:4]) }
func (w *countWriter) u64(v uint64) { binary.LittleEndian.PutUint64(w.buf[:], v); w.bytes(w.buf[:8]) }

func (w *countWriter) str(s string) {
	w.u64(uint64(len(s)))
	w.bytes([]byte(s))
}

func (w *countWriter) pad(a uint64) {
	if p := alignUp(w.n, a) - w.n; p > 0 {
		w.bytes(make([]byte, p))
	}
}

// value writes a value (without its type tag) whose type valueType accepted.
func (w *countWriter) value(v any) {
	switch v := v.(type) {
	case uint8:
		w.u8(v)
	case int8:
		w.u8(uint8(v))
	case uint16:
		w.u16(v)
	case int16:
		w.u16(uint16(v))
	case uint32:
		w.u32(v)
	case int32:
		w.u32(uint32(v))
	case uint64:
		w.u64(v)
	case int64:
		w.u64(uint64(v))
	case float32:
		w.u32(math.Float32bits(v))
	case float64:
		w.u64(math.Float64bits(v))
	case bool:
		if v {
			w.u8(1)
		} else {
			w.u8(0)
		}
	case string:
		w.str(v)
	case []uint8:
		writeArray(w, ValueUint8, v)
	case []int8:
		writeArray(w, ValueInt8, v)
	case []uint16:
		writeArray(w, ValueUint16, v)
	case []int16:
		writeArray(w, ValueInt16, v)
	case []uint32:
		writeArray(w, ValueUint32, v)
	case []int32:
		writeArray(w, ValueInt32, v)
	case []uint64:
		writeArray(w, ValueUint64, v)
	case []int64:
		writeArray(w, ValueInt64, v)
	case []float32:
		writeArray(w, ValueFloat32, v)
	case []float64:
		writeArray(w, ValueFloat64, v)
	case []bool:
		writeArray(w, ValueBool, v)
	case []string:
		writeArray(w, ValueString, v)
	case []any:
		w.u32(uint32(ValueArray))
		w.u64(uint64(len(v)))
		for _, e := range v {
			w.u32(uint32(elemType(e)))
			w.u64(uint64(sliceLen(e)))
			writeElems(w, e)
		}
	}
}

// writeArray writes an array's element type, length and elements.
func writeArray[T any](w *countWriter, et ValueType, s []T) {
	w.u32(uint32(et))
	w.u64(uint64(len(s)))
	for _, e := range s {
		w.value(any(e))
	}
}

// writeElems writes the elements of a nested array (its type and length already written).
func writeElems(w *countWriter, v any) {
	switch v := v.(type) {
	case []any:
		for _, e := range v {
			w.u32(uint32(elemType(e)))
			w.u64(uint64(sliceLen(e)))
			writeElems(w, e)
		}
	default:
		// Typed slices: write the elements only.
		forEach(v, func(e any) { w.value(e) })
	}
}

// sliceLen returns the length of a slice accepted by valueType.
func sliceLen(v any) int {
	n := 0
	forEach(v, func(any) { n++ })
	return n
}

// forEach calls fn on each element of a slice accepted by valueType.
func forEach(v any, fn func(any)) {
	switch v := v.(type) {
	case []uint8:
		each(v, fn)
	case []int8:
		each(v, fn)
	case []uint16:
		each(v, fn)
	case []int16:
		each(v, fn)
	case []uint32:
		each(v, fn)
	case []int32:
		each(v, fn)
	case []uint64:
		each(v, fn)
	case []int64:
		each(v, fn)
	case []float32:
		each(v, fn)
	case []float64:
		each(v, fn)
	case []bool:
		each(v, fn)
	case []string:
		each(v, fn)
	case []any:
		each(v, fn)
	}
}

func each[T any](s []T, fn func(any)) {
	for _, e := range s {
		fn(e)
	}
}
