package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
)

// blockEncoder encodes whole blocks of src into dst (len(dst) = blocks × block bytes).
type blockEncoder func(dst []byte, src []float32)

var encoders = map[GGMLType]blockEncoder{
	TypeF32:  encodeF32,
	TypeF16:  encodeF16,
	TypeBF16: encodeBF16,
	TypeQ4_0: encodeQ4_0,
	TypeQ4_1: encodeQ4_1,
	TypeQ5_0: encodeQ5_0,
	TypeQ5_1: encodeQ5_1,
	TypeQ8_0: encodeQ8_0,
	TypeQ4_K: encodeQ4_K,
	TypeQ5_K: encodeQ5_K,
	TypeQ6_K: encodeQ6_K,
	TypeQ8_K: encodeQ8_K,
}

// CanQuantize reports whether Quantize supports the type.
func CanQuantize(t GGMLType) bool {
	_, ok := encoders[t]
	return ok
}

// Quantize encodes values as type t, block by block; len(values) must be a multiple of the block size.
// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1 and Q8_0 follow ggml's reference quantisers
// (quantize_row_*_ref) bit for bit; Q4_K, Q5_K, Q6_K and Q8_K use simpler scale choices than ggml (valid
// blocks, somewhat larger error). Other types give ErrUnsupportedType.
func Quantize(t GGMLType, values []float32) ([]byte, error) {
	enc, ok := encoders[t]
	if !ok {
		return nil, fmt.Errorf("quantize to %s: %w", t, ErrUnsupportedType)
	}
	be, bb := t.BlockElems(), t.BlockBytes()
	if len(values)%be != 0 {
		return nil, fmt.Errorf("quantize to %s: %d values is not a whole number of %d-value blocks: %w", t, len(values), be, ErrBadValue)
	}
	nb := len(values) / be
	out := make([]byte, nb*bb)
	parallel(nb, be, func(lo, hi int) {
		enc(out[lo*bb:hi*bb], values[lo*be:hi*be])
	})
	return out, nil
}

func encodeF32(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
	}
}

func encodeF16(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], float32ToHalf(v))
	}
}

func encodeBF16(dst []byte, src []float32) {
	for i, v := range src {
		binary.LittleEndian.PutUint16(dst[2*i:], float32ToBF16(v))
	}
}

// clampTrunc truncates v toward zero and clamps it to [0, hi] (NaN gives 0).
func clampTrunc(v float32, hi float32) uint8 {
	v = float32(math.Trunc(float64(v)))
	if !(v >= 0) {
		return 0
	}
	if v > hi {
		return uint8(hi)
	}
	return uint8(v)
}

// inv returns 1/d, or 0 when d is 0.
func inv(d float32) float32 {
	if d == 0 {
		return 0
	}
	return 1 / d
}

// absMax returns the value of largest magnitude in x (the first one on ties).
func absMax(x []float32) float32 {
	var amax, max float32
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, max = a, v
		}
	}
	return max
}

// minMax returns the smallest and largest value of x.
func minMax(x []float32) (float32, float32) {
	lo, hi := x[0], x[0]
	for _, v := range x[1:] {
		lo = min(lo, v)
		hi = max(hi, v)
	}
	return lo, hi
}

func encodeQ4_0(dst []byte, src []float32) {
	for ; len(src) >= 32; src, dst = src[32:], dst[18:] {
		x := src[:32]
		d := absMax(x) / -8
		id := inv(d)
		binary.LittleEndian.PutUint16(dst, float32ToHalf(d))
		for j := 0; j < 16; j++ {
			q0 := clampTrunc(float32(x[j]*id)+8.5, 15)
			q1 := clampTrunc(float32(x[j+16]*id)+8.5, 15)
			dst[2+j] = q0 | q1<<4
		}
	}
}

func encodeQ4_1(dst []byte, src []float32) {
	for ; len(src) >= 32; src, dst = src[32:], dst[20:] {
		x := src[:32]
		lo, hi := minMax(x)
		d := (hi - lo) / 15
		id := inv(d)
		binary.LittleEndian.PutUint16(dst, float32ToHalf(d))
		binary.LittleEndian.PutUint16(dst[2:], float32ToHalf(lo))
		for j := 0; j < 16; j++ {
			q0 := clampTrunc(float32((x[j]-lo)*id)+0.5, 15)
			q1 := clampTrunc(float32((x[j+16]-lo)*id)+0.5, 15)
			dst[4+j] = q0 | q1<<4
		}
	}
}

func encodeQ5_0(dst []byte, src []float32) {
	for ; len(src) >= 32; src, dst = src[32:], dst[22:] {
		x := src[:32]
		d := absMax(x) / -16
		id := inv(d)
		binary.LittleEndian.PutUint16(dst, float32ToHalf(d))
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := clampTrunc(float32(x[j]*id)+16.5, 31)
			q1 := clampTrunc(float32(x[j+16]*id)+16.5, 31)
			dst[6+j] = q0&0xf | q1<<4
			qh |= uint32(q0>>4) << j
			qh |= uint32(q1>>4) << (j + 16)
		}
		binary.LittleEndian.PutUint32(dst[2:], qh)
	}
}

func encodeQ5_1(dst []byte, src []float32) {
	for ; len(src) >= 32; src, dst = src[32:], dst[24:] {
		x := src[:32]
		lo, hi := minMax(x)
		d := (hi - lo) / 31
		id := inv(d)
		binary.LittleEndian.PutUint16(dst, float32ToHalf(d))
		binary.LittleEndian.PutUint16(dst[2:], float32ToHalf(lo))
		var qh uint32
		for j := 0; j < 16; j++ {
			q0 := clampTrunc(float32((x[j]-lo)*id)+0.5, 31)
			q1 := clampTrunc(float32((x[j+16]-lo)*id)+0.5, 31)
			dst[8+j] = q0&0xf | q1<<4
			qh |= uint32(q0>>4) << j
			qh |= uint32(q1>>4) << (j + 16)
		}
		binary.LittleEndian.PutUint32(dst[4:], qh)
	}
}

func encodeQ8_0(dst []byte, src []float32) {
	for ; len(src) >= 32; src, dst = src[32:], dst[34:] {
		x := src[:32]
		var amax float32
		for _, v := range x {
			amax = max(amax, float32(math.Abs(float64(v))))
		}
		d := amax / 127
		id := inv(d)
		binary.LittleEndian.PutUint16(dst, float32ToHalf(d))
		for j, v := range x {
			q := math.Round(float64(float32(v * id))) // roundf: halves away from zero
			q = max(-128, min(127, q))
			if q != q {
				q = 0
			}
			dst[2+j] = byte(int8(q))
		}
	}
}
