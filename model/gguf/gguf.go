package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/bits"
	"os"
	"path/filepath"
	"sort"
	"sync"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// DefaultAlignment is the data alignment used when general.alignment is absent.
const DefaultAlignment = 32

// AlignmentKey is the metadata key that sets the alignment of tensor data.
const AlignmentKey = "general.alignment"

const (
	maxDims       = 8  // GGML uses 4; a little slack for future files
	maxArrayDepth = 16 // nested metadata arrays
)

// KV is one metadata key/value pair. Value holds the native Go type of the GGUF type (see
// File.MetadataMap); Type is its GGUF type tag (ValueArray for arrays). Write ignores Type and encodes
// Value by its Go type.
type KV struct {
	Key   string
	Type  ValueType
	Value any
}

// TensorInfo describes one tensor of a GGUF file.
type TensorInfo struct {
	Name string
	Type GGMLType
	// Dims is the shape in GGUF order: Dims[0] (ne[0]) is the fastest-varying axis, so a token embedding
	// of row-major shape [n_vocab, n_embd] has Dims [n_embd, n_vocab].
	Dims []uint64
	// Offset is the byte offset of the tensor's data from the start of the data section.
	Offset uint64
	// Size is the byte size of the tensor's data.
	Size uint64
}

// NumElements returns the number of values in the tensor (the product of Dims).
func (t TensorInfo) NumElements() uint64 {
	n := uint64(1)
	for _, d := range t.Dims {
		n *= d
	}
	return n
}

// Shape returns the row-major shape: Dims reversed (e.g. [n_vocab, n_embd] for token_embd.weight).
func (t TensorInfo) Shape() []int {
	s := make([]int, len(t.Dims))
	for i, d := range t.Dims {
		s[len(t.Dims)-1-i] = int(d)
	}
	return s
}

// File is an open, memory-mapped GGUF file. Its methods are safe for concurrent use until Close.
type File struct {
	path      string
	name      string
	version   uint32
	alignment uint64
	mu        sync.RWMutex
	data      []byte
	unmap     func() error
	dataOff   uint64
	kvs       []KV
	kvIndex   map[string]int
	tensors   []TensorInfo
	index     map[string]int
}

// Open memory-maps the GGUF file at path and parses its header, metadata and tensor table. Every count and
// length is checked against the file size before anything is allocated, every tensor's type must be known
// and its data must lie, aligned, inside the file without overlapping another tensor.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("gguf %s: %w", path, err)
	}
	data, unmap, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("gguf %s: map: %w", path, err)
	}
	gf, err := parse(path, data)
	if err != nil {
		unmap()
		return nil, err
	}
	gf.unmap = unmap
	return gf, nil
}

// reader decodes little-endian values from b, failing (without allocating) when fewer bytes remain than
// a value needs.
type reader struct {
	b   []byte
	off uint64
}

func (r *reader) remaining() uint64 { return uint64(len(r.b)) - r.off }

func (r *reader) take(n uint64) ([]byte, error) {
	if n > r.remaining() {
		return nil, fmt.Errorf("need %d bytes at offset %d, file has %d", n, r.off, len(r.b))
	}
	s := r.b[r.off : r.off+n]
	r.off += n
	return s, nil
}

func (r *reader) u32() (uint32, error) {
	b, err := r.take(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (r *reader) u64() (uint64, error) {
	b, err := r.take(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (r *reader) str() (string, error) {
	n, err := r.u64()
	if err != nil {
		return "", err
	}
	b, err := r.take(n)
	if err != nil {
		return "", fmt.Errorf("string of %d bytes: %w", n, err)
	}
	return string(b), nil
}

// parse decodes a complete file image.
func parse(path string, data []byte) (*File, error) {
	gf := &File{path: path, name: filepath.Base(path), data: data, kvIndex: map[string]int{}, index: map[string]int{}}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("gguf %s: "+format+": %w", append(append([]any{gf.name}, args...), ErrFormat)...)
	}
	r := &reader{b: data}
	magic, err := r.take(4)
	if err != nil {
		return nil, fail("file is %d bytes, too short for a header", len(data))
	}
	if string(magic) != Magic {
		return nil, fail("bad magic %q, want %q", magic, Magic)
	}
	version, err := r.u32()
	if err != nil {
		return nil, fail("version: %v", err)
	}
	switch {
	case version == 1:
		return nil, fmt.Errorf("gguf %s: version 1 (32-bit counts) is not supported, re-convert the model: %w", gf.name, ErrVersion)
	case version == 2 || version == 3:
	case bits.ReverseBytes32(version) == 2 || bits.ReverseBytes32(version) == 3:
		return nil, fmt.Errorf("gguf %s: big-endian file (version %d) is not supported: %w", gf.name, bits.ReverseBytes32(version), ErrVersion)
	default:
		return nil, fmt.Errorf("gguf %s: version %d: %w", gf.name, version, ErrVersion)
	}
	gf.version = version
	nTensors, err := r.u64()
	if err != nil {
		return nil, fail("tensor count: %v", err)
	}
	nKV, err := r.u64()
	if err != nil {
		return nil, fail("metadata count: %v", err)
	}
	// Each KV takes at least 8 (key length) + 4 (type) + 1 bytes, each tensor info 8 + 4 + 4 + 8.
	if nKV > r.remaining()/13 {
		return nil, fail("metadata count %d does not fit in file size %d", nKV, len(data))
	}
	if nTensors > r.remaining()/24 {
		return nil, fail("tensor count %d does not fit in file size %d", nTensors, len(data))
	}
	gf.kvs = make([]KV, 0, min(nKV, 1<<10)) // grows as entries parse: a garbled count fails before it costs memory
	for i := uint64(0); i < nKV; i++ {
		key, err := r.str()
		if err != nil {
			return nil, fail("metadata %d: key: %v", i, err)
		}
		if _, dup := gf.kvIndex[key]; dup {
			return nil, fail("metadata %s: duplicate key", key)
		}
		t, err := r.u32()
		if err != nil {
			return nil, fail("metadata %s: type: %v", key, err)
		}
		v, err := r.value(ValueType(t), 0)
		if err != nil {
			return nil, fail("metadata %s: %v", key, err)
		}
		gf.kvIndex[key] = len(gf.kvs)
		gf.kvs = append(gf.kvs, KV{Key: key, Type: ValueType(t), Value: v})
	}
	gf.alignment = DefaultAlignment
	if v, ok := gf.Get(AlignmentKey); ok {
		a, ok := asUint(v)
		if !ok || a == 0 || a&(a-1) != 0 || a > 1<<30 {
			return nil, fail("metadata %s: %v (%T) is not a power-of-two unsigned integer", AlignmentKey, v, v)
		}
		gf.alignment = a
	}
	gf.tensors = make([]TensorInfo, 0, min(nTensors, 1<<12))
	for i := uint64(0); i < nTensors; i++ {
		name, err := r.str()
		if err != nil {
			return nil, fail("tensor %d: name: %v", i, err)
		}
		if _, dup := gf.index[name]; dup {
			return nil, fail("tensor %s: duplicate name", name)
		}
		nd, err := r.u32()
		if err != nil {
			return nil, fail("tensor %s: n_dims: %v", name, err)
		}
		if nd > maxDims {
			return nil, fail("tensor %s: n_dims %d exceeds %d", name, nd, maxDims)
		}
		dims := make([]uint64, nd)
		for j := range dims {
			if dims[j], err = r.u64(); err != nil {
				return nil, fail("tensor %s: dims: %v", name, err)
			}
		}
		typ, err := r.u32()
		if err != nil {
			return nil, fail("tensor %s: type: %v", name, err)
		}
		off, err := r.u64()
		if err != nil {
			return nil, fail("tensor %s: offset: %v", name, err)
		}
		ti := TensorInfo{Name: name, Type: GGMLType(typ), Dims: dims, Offset: off}
		if !ti.Type.Known() {
			return nil, fail("tensor %s: unknown type %d", name, typ)
		}
		size, err := tensorSize(ti.Type, dims)
		if err != nil {
			return nil, fail("tensor %s: %v", name, err)
		}
		ti.Size = size
		if off%gf.alignment != 0 {
			return nil, fail("tensor %s: offset %d is not a multiple of the alignment %d", name, off, gf.alignment)
		}
		gf.index[name] = len(gf.tensors)
		gf.tensors = append(gf.tensors, ti)
	}
	gf.dataOff = (r.off + gf.alignment - 1) / gf.alignment * gf.alignment
	var dataLen uint64
	if gf.dataOff <= uint64(len(data)) {
		dataLen = uint64(len(data)) - gf.dataOff
	}
	order := make([]int, len(gf.tensors))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return gf.tensors[order[a]].Offset < gf.tensors[order[b]].Offset })
	var prevEnd uint64
	prev := -1
	for _, i := range order {
		t := gf.tensors[i]
		if t.Size == 0 {
			continue
		}
		if t.Offset > dataLen || t.Size > dataLen-t.Offset {
			return nil, fail("tensor %s: data [%d,%d) at file offset %d beyond file size %d", t.Name, t.Offset, t.Offset+t.Size, gf.dataOff+t.Offset, len(data))
		}
		if prev >= 0 && t.Offset < prevEnd {
			return nil, fail("tensor %s: data [%d,%d) overlaps tensor %s", t.Name, t.Offset, t.Offset+t.Size, gf.tensors[prev].Name)
		}
		prev, prevEnd = i, t.Offset+t.Size
	}
	return gf, nil
}

// tensorSize returns the byte size of a tensor, checking block alignment of ne[0] and overflow.
func tensorSize(t GGMLType, dims []uint64) (uint64, error) {
	be, bb := uint64(t.BlockElems()), uint64(t.BlockBytes())
	if len(dims) == 0 && be != 1 {
		return 0, fmt.Errorf("a scalar cannot be stored as %s", t)
	}
	if len(dims) > 0 && dims[0]%be != 0 {
		return 0, fmt.Errorf("ne[0] = %d is not a multiple of the %s block size %d", dims[0], t, be)
	}
	n := uint64(1)
	for _, d := range dims {
		hi, lo := bits.Mul64(n, d)
		if hi != 0 || lo > math.MaxInt64 {
			return 0, fmt.Errorf("dims %v overflow", dims)
		}
		n = lo
	}
	hi, size := bits.Mul64(n/be, bb)
	if hi != 0 || size > math.MaxInt64 {
		return 0, fmt.Errorf("dims %v overflow", dims)
	}
	return size, nil
}

// value decodes one metadata value of type t.
func (r *reader) value(t ValueType, depth int) (any, error) {
	switch t {
	case ValueString:
		return r.str()
	case ValueArray:
		if depth >= maxArrayDepth {
			return nil, fmt.Errorf("arrays nested deeper than %d", maxArrayDepth)
		}
		et, err := r.u32()
		if err != nil {
			return nil, fmt.Errorf("array type: %w", err)
		}
		n, err := r.u64()
		if err != nil {
			return nil, fmt.Errorf("array length: %w", err)
		}
		return r.array(ValueType(et), n, depth+1)
	}
	size := t.scalarSize()
	if size <= 0 {
		return nil, fmt.Errorf("unknown value type %d", t)
	}
	b, err := r.take(uint64(size))
	if err != nil {
		return nil, err
	}
	return scalar(t, b), nil
}

// scalar decodes a fixed-size value from its bytes.
func scalar(t ValueType, b []byte) any {
	switch t {
	case ValueUint8:
		return b[0]
	case ValueInt8:
		return int8(b[0])
	case ValueBool:
		return b[0] != 0
	case ValueUint16:
		return binary.LittleEndian.Uint16(b)
	case ValueInt16:
		return int16(binary.LittleEndian.Uint16(b))
	case ValueUint32:
		return binary.LittleEndian.Uint32(b)
	case ValueInt32:
		return int32(binary.LittleEndian.Uint32(b))
	case ValueFloat32:
		return math.Float32frombits(binary.LittleEndian.Uint32(b))
	case ValueUint64:
		return binary.LittleEndian.Uint64(b)
	case ValueInt64:
		return int64(binary.LittleEndian.Uint64(b))
	case ValueFloat64:
		return math.Float64frombits(binary.LittleEndian.Uint64(b))
	}
	return nil
}

// array decodes n values of type et into a typed slice ([]any for arrays of arrays).
func (r *reader) array(et ValueType, n uint64, depth int) (any, error) {
	switch et {
	case ValueString:
		if n > r.remaining()/8 {
			return nil, fmt.Errorf("array of %d strings does not fit in the %d bytes left", n, r.remaining())
		}
		return r.strings(n)
	case ValueArray:
		if n > r.remaining()/12 {
			return nil, fmt.Errorf("array of %d arrays does not fit in the %d bytes left", n, r.remaining())
		}
		out := make([]any, 0, min(n, 1<<12))
		for i := uint64(0); i < n; i++ {
			v, err := r.value(ValueArray, depth)
			if err != nil {
				return nil, fmt.Errorf("array element %d: %w", i, err)
			}
			out = append(out, v)
		}
		return out, nil
	}
	size := et.scalarSize()
	if size <= 0 {
		return nil, fmt.Errorf("array of unknown value type %d", et)
	}
	if n > r.remaining()/uint64(size) {
		return nil, fmt.Errorf("array of %d %s values does not fit in the %d bytes left", n, et, r.remaining())
	}
	b, _ := r.take(n * uint64(size))
	switch et {
	case ValueUint8:
		return append([]uint8{}, b...), nil
	case ValueInt8:
		out := make([]int8, n)
		for i := range out {
			out[i] = int8(b[i])
		}
		return out, nil
	case ValueBool:
		out := make([]bool, n)
		for i := range out {
			out[i] = b[i] != 0
		}
		return out, nil
	case ValueUint16:
		out := make([]uint16, n)
		for i := range out {
			out[i] = binary.LittleEndian.Uint16(b[2*i:])
		}
		return out, nil
	case ValueInt16:
		out := make([]int16, n)
		for i := range out {
			out[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return out, nil
	case ValueUint32:
		out := make([]uint32, n)
		for i := range out {
			out[i] = binary.LittleEndian.Uint32(b[4*i:])
		}
		return out, nil
	case ValueInt32:
		out := make([]int32, n)
		for i := range out {
			out[i] = int32(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case ValueFloat32:
		out := make([]float32, n)
		for i := range out {
			out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
		}
		return out, nil
	case ValueUint64:
		out := make([]uint64, n)
		for i := range out {
			out[i] = binary.LittleEndian.Uint64(b[8*i:])
		}
		return out, nil
	case ValueInt64:
		out := make([]int64, n)
		for i := range out {
			out[i] = int64(binary.LittleEndian.Uint64(b[8*i:]))
		}
		return out, nil
	case ValueFloat64:
		out := make([]float64, n)
		for i := range out {
			out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
		}
		return out, nil
	}
	return nil, fmt.Errorf("array of unknown value type %d", et)
}

// strings decodes n length-prefixed strings into one backing string (one allocation instead of n, which
// matters for 262k-token vocabularies): a first pass validates the lengths, a second copies the bytes.
func (r *reader) strings(n uint64) ([]string, error) {
	start := r.off
	var total uint64
	for i := uint64(0); i < n; i++ {
		l, err := r.u64()
		if err == nil {
			_, err = r.take(l)
		}
		if err != nil {
			return nil, fmt.Errorf("array element %d: %w", i, err)
		}
		total += l
	}
	buf := make([]byte, 0, total)
	for p := start; p < r.off; {
		l := binary.LittleEndian.Uint64(r.b[p:])
		buf = append(buf, r.b[p+8:p+8+l]...)
		p += 8 + l
	}
	all := string(buf)
	out := make([]string, n)
	var at uint64
	for i, p := 0, start; p < r.off; i++ {
		l := binary.LittleEndian.Uint64(r.b[p:])
		out[i] = all[at : at+l]
		at += l
		p += 8 + l
	}
	return out, nil
}

// Path returns the path the file was opened from.
func (gf *File) Path() string { return gf.path }

// Version returns the GGUF version (2 or 3).
func (gf *File) Version() uint32 { return gf.version }

// Alignment returns the data alignment in bytes (general.alignment, default 32).
func (gf *File) Alignment() uint64 { return gf.alignment }

// DataOffset returns the file offset of the data section, where tensor offsets start.
func (gf *File) DataOffset() uint64 { return gf.dataOff }

// Tensors returns the tensor infos in the order of the file's tensor table. The slice is a copy; the Dims
// slices are shared and must not be modified.
func (gf *File) Tensors() []TensorInfo { return append([]TensorInfo(nil), gf.tensors...) }

// Tensor returns the info of the tensor named name.
func (gf *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := gf.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return gf.tensors[i], true
}

// Bytes returns the raw bytes of a tensor. The slice aliases the mapped file: it must not be modified and
// is valid only until Close.
func (gf *File) Bytes(name string) ([]byte, TensorInfo, error) {
	gf.mu.RLock()
	defer gf.mu.RUnlock()
	return gf.bytesLocked(name)
}

func (gf *File) bytesLocked(name string) ([]byte, TensorInfo, error) {
	if gf.unmap == nil {
		return nil, TensorInfo{}, fmt.Errorf("gguf %s: tensor %s: %w", gf.name, name, ErrClosed)
	}
	i, ok := gf.index[name]
	if !ok {
		return nil, TensorInfo{}, fmt.Errorf("gguf %s: tensor %s: %w", gf.name, name, ErrNotFound)
	}
	t := gf.tensors[i]
	if t.Size == 0 {
		return nil, t, nil
	}
	start := gf.dataOff + t.Offset
	return gf.data[start : start+t.Size], t, nil
}

// Float32 dequantises a tensor into a fresh float32 slice and returns it with its row-major shape (the
// GGUF dims reversed). A tensor of a type without a dequantiser gives ErrUnsupportedType.
func (gf *File) Float32(name string) ([]float32, []int, error) {
	gf.mu.RLock()
	defer gf.mu.RUnlock()
	raw, t, err := gf.bytesLocked(name)
	if err != nil {
		return nil, nil, err
	}
	out, err := Dequantize(t.Type, raw, int(t.NumElements()))
	if err != nil {
		return nil, nil, fmt.Errorf("gguf %s: tensor %s: %w", gf.name, name, err)
	}
	return out, t.Shape(), nil
}

// Close unmaps the file. Slices returned by Bytes become invalid; Float32 results and metadata stay valid.
func (gf *File) Close() error {
	gf.mu.Lock()
	defer gf.mu.Unlock()
	if gf.unmap == nil {
		return nil
	}
	err := gf.unmap()
	gf.unmap, gf.data = nil, nil
	if err != nil {
		return fmt.Errorf("gguf %s: unmap: %w", gf.path, err)
	}
	return nil
}
