package safetensors

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"sync"
)

// maxHeaderSize bounds the JSON header (the reference implementation uses the same 100 MB limit).
const maxHeaderSize = 100 << 20

// dtypeSizes is the element size in bytes of each safetensors dtype.
var dtypeSizes = map[string]int64{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
	"U16": 2, "I16": 2, "F16": 2, "BF16": 2,
	"U32": 4, "I32": 4, "F32": 4,
	"U64": 8, "I64": 8, "F64": 8,
}

// DTypeSize returns the size in bytes of one element of a safetensors dtype ("F32", "BF16", ...), and
// false for an unknown dtype.
func DTypeSize(dtype string) (int, bool) {
	s, ok := dtypeSizes[dtype]
	return int(s), ok
}

// Info describes one tensor of a safetensors file.
type Info struct {
	Name  string
	DType string // safetensors dtype: "F32", "F16", "BF16", "F64", "I64", ...
	Shape []int  // row-major shape; empty for a scalar
	// Offsets is the tensor's byte range [begin, end) relative to the start of the data section, as
	// written in the header.
	Offsets [2]int64
}

// NumElements returns the product of the tensor's shape (1 for a scalar).
func (i Info) NumElements() int {
	n := 1
	for _, d := range i.Shape {
		n *= d
	}
	return n
}

// File is an open, memory-mapped safetensors file. Its methods are safe for concurrent use until Close.
type File struct {
	path     string
	name     string // base name used in error messages
	mu       sync.RWMutex
	data     []byte // whole file
	unmap    func() error
	dataOff  int64 // start of the data section
	tensors  []Info
	index    map[string]int
	metadata map[string]string
}

// Open memory-maps the safetensors file at path and validates its header: every tensor must have a known
// dtype, a shape whose element count times the dtype size equals its byte range, and a byte range inside
// the file that overlaps no other tensor.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", path, err)
	}
	data, unmap, err := mapFile(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: map: %w", path, err)
	}
	sf, err := parse(path, data)
	if err != nil {
		unmap()
		return nil, err
	}
	sf.unmap = unmap
	return sf, nil
}

// parse validates the header of a complete file image and builds the tensor table.
func parse(path string, data []byte) (*File, error) {
	name := filepath.Base(path)
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors %s: "+format+": %w", append(append([]any{name}, args...), ErrFormat)...)
	}
	size := int64(len(data))
	if size < 8 {
		return nil, fail("file is %d bytes, shorter than the 8-byte header length", size)
	}
	hlen := binary.LittleEndian.Uint64(data[:8])
	if hlen > maxHeaderSize {
		return nil, fail("header length %d exceeds the %d-byte limit", hlen, maxHeaderSize)
	}
	if int64(hlen) > size-8 {
		return nil, fail("header length %d beyond file size %d", hlen, size)
	}
	header := data[8 : 8+hlen]
	sf := &File{
		path:    path,
		name:    name,
		data:    data,
		dataOff: 8 + int64(hlen),
		index:   map[string]int{},
	}
	if err := sf.parseHeader(header); err != nil {
		return nil, err
	}
	dataLen := size - sf.dataOff
	for _, t := range sf.tensors {
		sz, ok := dtypeSizes[t.DType]
		if !ok {
			return nil, fmt.Errorf("safetensors %s: tensor %s: dtype %q: %w", name, t.Name, t.DType, ErrUnknownDType)
		}
		n := int64(1)
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fail("tensor %s: negative dimension in shape %v", t.Name, t.Shape)
			}
			if d != 0 && n > math.MaxInt64/int64(d)/sz {
				return nil, fail("tensor %s: shape %v overflows", t.Name, t.Shape)
			}
			n *= int64(d)
		}
		b, e := t.Offsets[0], t.Offsets[1]
		if b < 0 || e < b {
			return nil, fail("tensor %s: bad data offsets [%d,%d]", t.Name, b, e)
		}
		if e > dataLen {
			return nil, fail("tensor %s: data offsets [%d,%d] beyond file size %d (data section is %d bytes)", t.Name, b, e, size, dataLen)
		}
		if n*sz != e-b {
			return nil, fail("tensor %s: shape %v of %s needs %d bytes, data offsets [%d,%d] hold %d", t.Name, t.Shape, t.DType, n*sz, b, e, e-b)
		}
	}
	// File order is data order; ties (empty tensors) keep header order.
	sort.SliceStable(sf.tensors, func(i, j int) bool { return sf.tensors[i].Offsets[0] < sf.tensors[j].Offsets[0] })
	for i, t := range sf.tensors {
		if i > 0 {
			p := sf.tensors[i-1]
			if t.Offsets[0] < p.Offsets[1] {
				return nil, fail("tensor %s: data offsets [%d,%d] overlap tensor %s [%d,%d]", t.Name, t.Offsets[0], t.Offsets[1], p.Name, p.Offsets[0], p.Offsets[1])
			}
		}
		sf.index[t.Name] = i
	}
	return sf, nil
}

// headerEntry is one tensor entry of the JSON header.
type headerEntry struct {
	DType       *string  `json:"dtype"`
	Shape       *[]int   `json:"shape"`
	DataOffsets *[]int64 `json:"data_offsets"`
}

// parseHeader decodes the JSON header keeping the order of its entries.
func (sf *File) parseHeader(header []byte) error {
	fail := func(format string, args ...any) error {
		return fmt.Errorf("safetensors %s: header: "+format+": %w", append(append([]any{sf.name}, args...), ErrFormat)...)
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	tok, err := dec.Token()
	if err != nil {
		return fail("%v", err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return fail("not a JSON object")
	}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fail("%v", err)
		}
		key, ok := tok.(string)
		if !ok {
			return fail("non-string key %v", tok)
		}
		if key == "__metadata__" {
			var md map[string]string
			if err := dec.Decode(&md); err != nil {
				return fail("__metadata__: %v", err)
			}
			sf.metadata = md
			continue
		}
		if _, dup := sf.index[key]; dup {
			return fail("tensor %s: duplicate entry", key)
		}
		var e headerEntry
		if err := dec.Decode(&e); err != nil {
			return fail("tensor %s: %v", key, err)
		}
		switch {
		case e.DType == nil:
			return fail("tensor %s: missing dtype", key)
		case e.Shape == nil:
			return fail("tensor %s: missing shape", key)
		case e.DataOffsets == nil:
			return fail("tensor %s: missing data_offsets", key)
		case len(*e.DataOffsets) != 2:
			return fail("tensor %s: data_offsets has %d values, want 2", key, len(*e.DataOffsets))
		}
		sf.index[key] = len(sf.tensors)
		sf.tensors = append(sf.tensors, Info{
			Name:    key,
			DType:   *e.DType,
			Shape:   *e.Shape,
			Offsets: [2]int64{(*e.DataOffsets)[0], (*e.DataOffsets)[1]},
		})
	}
	if _, err := dec.Token(); err != nil {
		return fail("%v", err)
	}
	// Only padding (spaces) may follow the object.
	rest, _ := io.ReadAll(dec.Buffered())
	if len(bytes.TrimRight(rest, " \t\r\n\x00")) != 0 {
		return fail("trailing data after the JSON object")
	}
	return nil
}

// Path returns the path the file was opened from.
func (sf *File) Path() string { return sf.path }

// Metadata returns the header's __metadata__ map (nil when absent). The map must not be modified.
func (sf *File) Metadata() map[string]string { return sf.metadata }

// Tensors returns the file's tensors in file (data) order. The slice is a copy; the Shape slices are
// shared and must not be modified.
func (sf *File) Tensors() []Info {
	return append([]Info(nil), sf.tensors...)
}

// Info returns the tensor named name.
func (sf *File) Info(name string) (Info, bool) {
	i, ok := sf.index[name]
	if !ok {
		return Info{}, false
	}
	return sf.tensors[i], true
}

// Bytes returns the raw little-endian bytes of a tensor. The slice aliases the mapped file: it must not be
// modified and is valid only until Close.
func (sf *File) Bytes(name string) ([]byte, Info, error) {
	sf.mu.RLock()
	defer sf.mu.RUnlock()
	if sf.unmap == nil {
		return nil, Info{}, fmt.Errorf("safetensors %s: tensor %s: %w", sf.name, name, ErrClosed)
	}
	i, ok := sf.index[name]
	if !ok {
		return nil, Info{}, fmt.Errorf("safetensors %s: tensor %s: %w", sf.name, name, ErrNotFound)
	}
	t := sf.tensors[i]
	return sf.data[sf.dataOff+t.Offsets[0] : sf.dataOff+t.Offsets[1]], t, nil
}

// Float32 returns a tensor's values converted to float32 in a fresh slice, with its row-major shape.
// F32, F16, BF16 and F64 tensors are supported; other dtypes give ErrUnsupportedDType.
func (sf *File) Float32(name string) ([]float32, []int, error) {
	sf.mu.RLock()
	defer sf.mu.RUnlock()
	if sf.unmap == nil {
		return nil, nil, fmt.Errorf("safetensors %s: tensor %s: %w", sf.name, name, ErrClosed)
	}
	i, ok := sf.index[name]
	if !ok {
		return nil, nil, fmt.Errorf("safetensors %s: tensor %s: %w", sf.name, name, ErrNotFound)
	}
	t := sf.tensors[i]
	raw := sf.data[sf.dataOff+t.Offsets[0] : sf.dataOff+t.Offsets[1]]
	out, err := toFloat32(raw, t.DType)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors %s: tensor %s: %w", sf.name, name, err)
	}
	return out, append([]int(nil), t.Shape...), nil
}

// toFloat32 converts little-endian raw values of a dtype to float32, in parallel for large tensors.
func toFloat32(raw []byte, dtype string) ([]float32, error) {
	var conv func(dst []float32, src []byte)
	var size int
	switch dtype {
	case "F32":
		size, conv = 4, func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
			}
		}
	case "F16":
		size, conv = 2, func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = halfToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
			}
		}
	case "BF16":
		size, conv = 2, func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = bf16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
			}
		}
	case "F64":
		size, conv = 8, func(dst []float32, src []byte) {
			for i := range dst {
				dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
			}
		}
	default:
		return nil, fmt.Errorf("dtype %s: %w", dtype, ErrUnsupportedDType)
	}
	n := len(raw) / size
	out := make([]float32, n)
	const chunk = 1 << 18
	workers := runtime.GOMAXPROCS(0)
	if n <= chunk || workers == 1 {
		conv(out, raw)
		return out, nil
	}
	var wg sync.WaitGroup
	next := make(chan int, (n+chunk-1)/chunk)
	for lo := 0; lo < n; lo += chunk {
		next <- lo
	}
	close(next)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for lo := range next {
				hi := min(lo+chunk, n)
				conv(out[lo:hi], raw[lo*size:hi*size])
			}
		}()
	}
	wg.Wait()
	return out, nil
}

// Close unmaps the file. Slices returned by Bytes become invalid; Float32 results stay valid.
func (sf *File) Close() error {
	sf.mu.Lock()
	defer sf.mu.Unlock()
	if sf.unmap == nil {
		return nil
	}
	err := sf.unmap()
	sf.unmap = nil
	sf.data = nil
	if err != nil {
		return fmt.Errorf("safetensors %s: unmap: %w", sf.path, err)
	}
	return nil
}
