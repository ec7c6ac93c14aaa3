package safetensors

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
)

// Tensor is one tensor to write: its values are given as float32 and stored in DType.
type Tensor struct {
	Name  string
	DType string // "F32", "F16" or "BF16"
	Shape []int  // row-major; the product must equal len(Data)
	Data  []float32
}

// Write writes tensors (in the given order) and metadata to a safetensors file at path. The file is
// written to a temporary file in the same directory and renamed, so an interrupted write never leaves a
// valid-looking file.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	name := filepath.Base(path)
	header, err := encodeHeader(tensors, metadata)
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", name, err)
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+name+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors %s: %w", name, err)
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	w := bufio.NewWriterSize(tmp, 1<<20)
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(header)))
	w.Write(lenBuf[:])
	w.Write(header)
	var buf [4]byte
	for _, t := range tensors {
		for _, v := range t.Data {
			switch t.DType {
			case "F32":
				binary.LittleEndian.PutUint32(buf[:], math.Float32bits(v))
				w.Write(buf[:4])
			case "F16":
				binary.LittleEndian.PutUint16(buf[:], float32ToHalf(v))
				w.Write(buf[:2])
			case "BF16":
				binary.LittleEndian.PutUint16(buf[:], float32ToBF16(v))
				w.Write(buf[:2])
			}
		}
	}
	if err := w.Flush(); err != nil {
		return fmt.Errorf("safetensors %s: write: %w", name, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("safetensors %s: sync: %w", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("safetensors %s: close: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors %s: %w", name, err)
	}
	ok = true
	return nil
}

// encodeHeader validates the tensors and returns the JSON header padded with spaces to a multiple of 8.
func encodeHeader(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	first := true
	if len(metadata) > 0 {
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		b.WriteString(`"__metadata__":{`)
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSON(&b, k)
			b.WriteByte(':')
			writeJSON(&b, metadata[k])
		}
		b.WriteByte('}')
		first = false
	}
	seen := map[string]bool{}
	var off int64
	for _, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" {
			return nil, fmt.Errorf("tensor %q: invalid name", t.Name)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("tensor %s: duplicate name", t.Name)
		}
		seen[t.Name] = true
		var sz int64
		switch t.DType {
		case "F32":
			sz = 4
		case "F16", "BF16":
			sz = 2
		default:
			return nil, fmt.Errorf("tensor %s: dtype %q: %w", t.Name, t.DType, ErrUnsupportedDType)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("tensor %s: negative dimension in shape %v", t.Name, t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("tensor %s: shape %v has %d elements, data has %d", t.Name, t.Shape, n, len(t.Data))
		}
		if !first {
			b.WriteByte(',')
		}
		first = false
		writeJSON(&b, t.Name)
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		fmt.Fprintf(&b, `:{"dtype":%q,"shape":`, t.DType)
		writeJSON(&b, shape)
		end := off + int64(n)*sz
		fmt.Fprintf(&b, `,"data_offsets":[%d,%d]}`, off, end)
		off = end
	}
	b.WriteByte('}')
	for b.Len()%8 != 0 {
		b.WriteByte(' ')
	}
	return b.Bytes(), nil
}

// writeJSON appends the JSON encoding of v (strings and int slices, which cannot fail).
func writeJSON(b *bytes.Buffer, v any) {
	enc, _ := json.Marshal(v)
	b.Write(enc)
}
