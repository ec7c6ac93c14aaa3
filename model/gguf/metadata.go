package gguf

import "math"

// Metadata returns the metadata key/value pairs in file order. The slice is a copy; slice values inside
// are shared and must not be modified.
func (gf *File) Metadata() []KV { return append([]KV(nil), gf.kvs...) }

// MetadataMap returns the metadata as a map from key to native Go value: UINT8→uint8, INT8→int8,
// UINT16→uint16, INT16→int16, UINT32→uint32, INT32→int32, UINT64→uint64, INT64→int64, FLOAT32→float32,
// FLOAT64→float64, BOOL→bool, STRING→string, an ARRAY of a scalar type → the typed slice ([]string,
// []int32, []float32, []uint32, ...) and an ARRAY of arrays → []any of such slices. The map is fresh;
// the values are shared and must not be modified.
func (gf *File) MetadataMap() map[string]any {
	m := make(map[string]any, len(gf.kvs))
	for _, kv := range gf.kvs {
		m[kv.Key] = kv.Value
	}
	return m
}

// Get returns the value of a metadata key, typed as in MetadataMap.
func (gf *File) Get(key string) (any, bool) {
	i, ok := gf.kvIndex[key]
	if !ok {
		return nil, false
	}
	return gf.kvs[i].Value, true
}

// Architecture returns general.architecture ("llama", "gemma3", ...), or "" when absent.
func (gf *File) Architecture() string {
	s, _ := gf.String("general.architecture")
	return s
}

// String returns a STRING value; ok is false when the key is absent or of another type.
func (gf *File) String(key string) (string, bool) {
	v, _ := gf.Get(key)
	s, ok := v.(string)
	return s, ok
}

// Bool returns a BOOL value; ok is false when the key is absent or of another type.
func (gf *File) Bool(key string) (bool, bool) {
	v, _ := gf.Get(key)
	b, ok := v.(bool)
	return b, ok
}

// Uint returns an integer value of any width as uint64; ok is false when the key is absent, not an
// integer, or negative.
func (gf *File) Uint(key string) (uint64, bool) {
	v, _ := gf.Get(key)
	return asUint(v)
}

// Int returns an integer value of any width as int64; ok is false when the key is absent, not an integer,
// or a UINT64 above math.MaxInt64.
func (gf *File) Int(key string) (int64, bool) {
	v, _ := gf.Get(key)
	return asInt(v)
}

// Float returns a FLOAT32, FLOAT64 or integer value as float64; ok is false when the key is absent or of
// another type.
func (gf *File) Float(key string) (float64, bool) {
	v, _ := gf.Get(key)
	switch v := v.(type) {
	case float32:
		return float64(v), true
	case float64:
		return v, true
	}
	if i, ok := asInt(v); ok {
		return float64(i), true
	}
	if u, ok := asUint(v); ok {
		return float64(u), true
	}
	return 0, false
}

// Strings returns an ARRAY of STRING; ok is false when the key is absent or of another type.
func (gf *File) Strings(key string) ([]string, bool) {
	v, _ := gf.Get(key)
	s, ok := v.([]string)
	return s, ok
}

// Ints returns an ARRAY of any integer type as a fresh []int64; ok is false when the key is absent, of
// another type, or holds a UINT64 above math.MaxInt64.
func (gf *File) Ints(key string) ([]int64, bool) {
	v, _ := gf.Get(key)
	switch s := v.(type) {
	case []uint8:
		return convert[uint8, int64](s), true
	case []int8:
		return convert[int8, int64](s), true
	case []uint16:
		return convert[uint16, int64](s), true
	case []int16:
		return convert[int16, int64](s), true
	case []uint32:
		return convert[uint32, int64](s), true
	case []int32:
		return convert[int32, int64](s), true
	case []int64:
		return append([]int64(nil), s...), true
	case []uint64:
		for _, x := range s {
			if x > math.MaxInt64 {
				return nil, false
			}
		}
		return convert[uint64, int64](s), true
	}
	return nil, false
}

// Floats returns an ARRAY of FLOAT32 or FLOAT64 as a fresh []float64; ok is false when the key is absent
// or of another type.
func (gf *File) Floats(key string) ([]float64, bool) {
	v, _ := gf.Get(key)
	switch s := v.(type) {
	case []float32:
		return convert[float32, float64](s), true
	case []float64:
		return append([]float64(nil), s...), true
	}
	return nil, false
}

// convert converts a numeric slice element by element.
func convert[From, To interface {
	~uint8 | ~int8 | ~uint16 | ~int16 | ~uint32 | ~int32 | ~uint64 | ~int64 | ~float32 | ~float64
}](s []From) []To {
	out := make([]To, len(s))
	for i, x := range s {
		out[i] = To(x)
	}
	return out
}

// asUint converts a non-negative integer of any width to uint64.
func asUint(v any) (uint64, bool) {
	switch v := v.(type) {
	case uint8:
		return uint64(v), true
	case uint16:
		return uint64(v), true
	case uint32:
		return uint64(v), true
	case uint64:
		return v, true
	}
	if i, ok := asInt(v); ok && i >= 0 {
		return uint64(i), true
	}
	return 0, false
}

// asInt converts an integer of any width to int64.
func asInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
	}
	return 0, false
}
