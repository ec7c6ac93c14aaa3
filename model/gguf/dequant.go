package gguf

import (
	"encoding/binary"
	"fmt"
	"math"
	"runtime"
	"sync"
)

// f16Table maps every binary16 bit pattern to its float32 value (256 KiB, built on first use).
var f16Table = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = halfToFloat32(uint16(i))
	}
	return &t
})

// blockDecoder decodes whole blocks of src into dst (len(dst) = blocks × block elements).
type blockDecoder func(dst []float32, src []byte, h *[1 << 16]float32)

var decoders = map[GGMLType]blockDecoder{
	TypeF32:  decodeF32,
	TypeF16:  decodeF16,
	TypeBF16: decodeBF16,
	TypeF64:  decodeF64,
	TypeI8:   decodeI8,
	TypeI16:  decodeI16,
	TypeI32:  decodeI32,
	TypeQ4_0: decodeQ4_0,
	TypeQ4_1: decodeQ4_1,
	TypeQ5_0: decodeQ5_0,
	TypeQ5_1: decodeQ5_1,
	TypeQ8_0: decodeQ8_0,
	TypeQ2_K: decodeQ2_K,
	TypeQ3_K: decodeQ3_K,
	TypeQ4_K: decodeQ4_K,
	TypeQ5_K: decodeQ5_K,
	TypeQ6_K: decodeQ6_K,
	TypeQ8_K: decodeQ8_K,

	TypeIQ4_NL: decodeIQ4_NL,
	TypeIQ4_XS: decodeIQ4_XS,
}

// CanDequantize reports whether Dequantize supports the type.
func CanDequantize(t GGMLType) bool {
	_, ok := decoders[t]
	return ok
}

// Dequantize decodes n values of type t from raw (exactly the bytes of n values) into a fresh float32
// slice. Large inputs are decoded in parallel over blocks. Unsupported types give ErrUnsupportedType.
func Dequantize(t GGMLType, raw []byte, n int) ([]float32, error) {
	dec, ok := decoders[t]
	if !ok {
		return nil, fmt.Errorf("type %s: %w", t, ErrUnsupportedType)
	}
	be, bb := t.BlockElems(), t.BlockBytes()
	if n < 0 || n%be != 0 {
		return nil, fmt.Errorf("type %s: %d values is not a whole number of %d-value blocks: %w", t, n, be, ErrBadValue)
	}
	nb := n / be
	if len(raw) != nb*bb {
		return nil, fmt.Errorf("type %s: %d values need %d bytes, got %d: %w", t, n, nb*bb, len(raw), ErrBadValue)
	}
	out := make([]float32, n)
	h := f16Table()
	parallel(nb, be, func(lo, hi int) {
		dec(out[lo*be:hi*be], raw[lo*bb:hi*bb], h)
	})
	return out, nil
}

// parallel splits nb blocks of be values into chunks of at least 64 Ki values and runs fn on them with up
// to GOMAXPROCS goroutines.
func parallel(nb, be int, fn func(lo, hi int)) {
	const minValues = 1 << 16
	workers := runtime.GOMAXPROCS(0)
	chunk := (minValues + be - 1) / be
	if nb <= chunk || workers == 1 {
		fn(0, nb)
		return
	}
	if c := (nb + 4*workers - 1) / (4 * workers); c > chunk {
		chunk = c
	}
	var next int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				lo := int(next)
				next += int64(chunk)
				mu.Unlock()
				if lo >= nb {
					return
				}
				fn(lo, min(lo+chunk, nb))
			}
		}()
	}
	wg.Wait()
}

func decodeF32(dst []float32, src []byte, _ *[1 << 16]float32) {
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
	}
}

func decodeF16(dst []float32, src []byte, h *[1 << 16]float32) {
	for i := range dst {
		dst[i] = h[binary.LittleEndian.Uint16(src[2*i:])]
	}
}

func decodeBF16(dst []float32, src []byte, _ *[1 << 16]float32) {
	for i := range dst {
		dst[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(src[2*i:])) << 16)
	}
}

func decodeF64(dst []float32, src []byte, _ *[1 << 16]float32) {
	for i := range dst {
		dst[i] = float32(math.Float64frombits(binary.LittleEndian.Uint64(src[8*i:])))
	}
}

func decodeI8(dst []float32, src []byte, _ *[1 << 16]float32) {
	for i := range dst {
		dst[i] = float32(int8(src[i]))
	}
}

func decodeI16(dst []float32, src []byte, _ *[1 << 16]float32) {
	for i := range dst {
		dst[i] = float32(int16(binary.LittleEndian.Uint16(src[2*i:])))
	}
}

func decodeI32(dst []float32, src []byte, _ *[1 << 16]float32) {
	for i := range dst {
		dst[i] = float32(int32(binary.LittleEndian.Uint32(src[4*i:])))
	}
}

// Explicit float32 conversions around products below keep Go from fusing multiply-adds, so results match
// the reference implementations bit for bit on every architecture.

// decodeQ4_0: {d f16, qs[16]}; x = d·(nibble − 8); low nibbles are values 0..15, high nibbles 16..31.
func decodeQ4_0(dst []float32, src []byte, h *[1 << 16]float32) {
	for b := 0; len(src) >= 18; b++ {
		d := h[binary.LittleEndian.Uint16(src)]
		qs := src[2:18]
		y := dst[32*b : 32*b+32]
		for j := 0; j < 16; j++ {
			y[j] = d * float32(int(qs[j]&0xf)-8)
			y[j+16] = d * float32(int(qs[j]>>4)-8)
		}
		src = src[18:]
	}
}

// decodeQ4_1: {d f16, m f16, qs[16]}; x = d·nibble + m.
func decodeQ4_1(dst []float32, src []byte, h *[1 << 16]float32) {
	for b := 0; len(src) >= 20; b++ {
		d := h[binary.LittleEndian.Uint16(src)]
		m := h[binary.LittleEndian.Uint16(src[2:])]
		qs := src[4:20]
		y := dst[32*b : 32*b+32]
		for j := 0; j < 16; j++ {
			y[j] = float32(d*float32(qs[j]&0xf)) + m
			y[j+16] = float32(d*float32(qs[j]>>4)) + m
		}
		src = src[20:]
	}
}

// decodeQ5_0: {d f16, qh u32, qs[16]}; x = d·((nibble | high bit << 4) − 16).
func decodeQ5_0(dst []float32, src []byte, h *[1 << 16]float32) {
	for b := 0; len(src) >= 22; b++ {
		d := h[binary.LittleEndian.Uint16(src)]
		qh := binary.LittleEndian.Uint32(src[2:])
		qs := src[6:22]
		y := dst[32*b : 32*b+32]
		for j := 0; j < 16; j++ {
			x0 := int(qs[j]&0xf) | int((qh>>j)&1)<<4
			x1 := int(qs[j]>>4) | int((qh>>(j+16))&1)<<4
			y[j] = d * float32(x0-16)
			y[j+16] = d * float32(x1-16)
		}
		src = src[22:]
	}
}

// decodeQ5_1: {d f16, m f16, qh u32, qs[16]}; x = d·(nibble | high bit << 4) + m.
func decodeQ5_1(dst []float32, src []byte, h *[1 << 16]float32) {
	for b := 0; len(src) >= 24; b++ {
		d := h[binary.LittleEndian.Uint16(src)]
		m := h[binary.LittleEndian.Uint16(src[2:])]
		qh := binary.LittleEndian.Uint32(src[4:])
		qs := src[8:24]
		y := dst[32*b : 32*b+32]
		for j := 0; j < 16; j++ {
			x0 := uint32(qs[j]&0xf) | ((qh>>j)&1)<<4
			x1 := uint32(qs[j]>>4) | ((qh>>(j+16))&1)<<4
			y[j] = float32(d*float32(x0)) + m
			y[j+16] = float32(d*float32(x1)) + m
		}
		src = src[24:]
	}
}

// decodeQ8_0: {d f16, qs int8[32]}; x = d·q.
func decodeQ8_0(dst []float32, src []byte, h *[1 << 16]float32) {
	for b := 0; len(src) >= 34; b++ {
		d := h[binary.LittleEndian.Uint16(src)]
		qs := src[2:34]
		y := dst[32*b : 32*b+32]
		for j := range y {
			y[j] = d * float32(int8(qs[j]))
		}
		src = src[34:]
	}
}

// decodeQ8_K: {d f32, qs int8[256], bsums int16[16]}; x = d·q.
func decodeQ8_K(dst []float32, src []byte, _ *[1 << 16]float32) {
	for b := 0; len(src) >= 292; b++ {
		d := math.Float32frombits(binary.LittleEndian.Uint32(src))
		qs := src[4 : 4+256]
		y := dst[256*b : 256*b+256]
		for j := range y {
			y[j] = d * float32(int8(qs[j]))
		}
		src = src[292:]
	}
}

// decodeQ2_K: {scales[16], qs[64], d f16, dmin f16}; 16 sub-blocks of 16 values with 4-bit scale and min;
// 2-bit values: value e comes from qs[32·(e/128) + e%32] >> 2·((e%128)/32).
func decodeQ2_K(dst []float32, src []byte, h *[1 << 16]float32) {
	for b := 0; len(src) >= 84; b++ {
		scales := src[0:16]
		qs := src[16:80]
		d := h[binary.LittleEndian.Uint16(src[80:])]
		dmin := h[binary.LittleEndian.Uint16(src[82:])]
		y := dst[256*b : 256*b+256]
		for e0 := 0; e0 < 256; e0 += 16 {
			sc := scales[e0/16]
			dl := d * float32(sc&0xf)
			ml := dmin * float32(sc>>4)
			q := qs[32*(e0/128)+e0%32:]
			shift := 2 * uint((e0%128)/32)
			for l := 0; l < 16; l++ {
				y[e0+l] = float32(dl*float32((q[l]>>shift)&3)) - ml
			}
		}
		src = src[84:]
	}
}

// decodeQ3_K: {hmask[32], qs[64], scales[12], d f16}; 16 sub-blocks with signed 6-bit scales; a value's
// low two bits as in Q2_K and its high bit in hmask (a clear bit subtracts 4).
func decodeQ3_K(dst []float32, src []byte, h *[1 << 16]float32) {
	var sc [16]float32
	for b := 0; len(src) >= 110; b++ {
		hmask := src[0:32]
		qs := src[32:96]
		s := src[96:108]
		d := h[binary.LittleEndian.Uint16(src[108:])]
		for i := range sc {
			lo := (s[i%8] >> (4 * uint(i/8))) & 0xf
			hi := (s[8+i%4] >> (2 * uint(i/4))) & 3
			sc[i] = d * float32(int(lo|hi<<4)-32)
		}
		y := dst[256*b : 256*b+256]
		for e0 := 0; e0 < 256; e0 += 16 {
			dl := sc[e0/16]
			q := qs[32*(e0/128)+e0%32:]
			hm := hmask[e0%32:]
			shift := 2 * uint((e0%128)/32)
			bit := uint(e0 / 32)
			for l := 0; l < 16; l++ {
				v := int((q[l] >> shift) & 3)
				if (hm[l]>>bit)&1 == 0 {
					v -= 4
				}
				y[e0+l] = dl * float32(v)
			}
		}
		src = src[110:]
	}
}

// scaleMinK4 unpacks the eight 6-bit scales and mins of a Q4_K/Q5_K block.
func scaleMinK4(s []byte, sc, mn *[8]uint8) {
	for j := 0; j < 4; j++ {
		sc[j] = s[j] & 0x3f
		mn[j] = s[j+4] & 0x3f
		sc[j+4] = s[j+8]&0xf | (s[j]>>2)&0x30
		mn[j+4] = s[j+8]>>4 | (s[j+4]>>2)&0x30
	}
}

// decodeQ4_K: {d f16, dmin f16, scales[12], qs[128]}; 8 sub-blocks of 32 values, x = d·sc·q − dmin·m;
// sub-block j uses the low (even j) or high (odd j) nibbles of qs[32·(j/2):].
func decodeQ4_K(dst []float32, src []byte, h *[1 << 16]float32) {
	var sc, mn [8]uint8
	for b := 0; len(src) >= 144; b++ {
		d := h[binary.LittleEndian.Uint16(src)]
		dmin := h[binary.LittleEndian.Uint16(src[2:])]
		scaleMinK4(src[4:16], &sc, &mn)
		qs := src[16:144]
		y := dst[256*b : 256*b+256]
		for j := 0; j < 8; j += 2 {
			d1, m1 := d*float32(sc[j]), dmin*float32(mn[j])
			d2, m2 := d*float32(sc[j+1]), dmin*float32(mn[j+1])
			q := qs[16*j : 16*j+32]
			y1 := y[32*j : 32*j+32]
			y2 := y[32*j+32 : 32*j+64]
			for l := range q {
				y1[l] = float32(d1*float32(q[l]&0xf)) - m1
				y2[l] = float32(d2*float32(q[l]>>4)) - m2
			}
		}
		src = src[144:]
	}
}

// decodeQ5_K: {d f16, dmin f16, scales[12], qh[32], qs[128]}; as Q4_K with a fifth bit: bit j of qh[l]
// for sub-block j.
func decodeQ5_K(dst []float32, src []byte, h *[1 << 16]float32) {
	var sc, mn [8]uint8
	for b := 0; len(src) >= 176; b++ {
		d := h[binary.LittleEndian.Uint16(src)]
		dmin := h[binary.LittleEndian.Uint16(src[2:])]
		scaleMinK4(src[4:16], &sc, &mn)
		qh := src[16:48]
		qs := src[48:176]
		y := dst[256*b : 256*b+256]
		for j := 0; j < 8; j += 2 {
			d1, m1 := d*float32(sc[j]), dmin*float32(mn[j])
			d2, m2 := d*float32(sc[j+1]), dmin*float32(mn[j+1])
			q := qs[16*j : 16*j+32]
			y1 := y[32*j : 32*j+32]
			y2 := y[32*j+32 : 32*j+64]
			for l := range q {
				h1 := (qh[l] >> uint(j)) & 1
				h2 := (qh[l] >> uint(j+1)) & 1
				y1[l] = float32(d1*float32(q[l]&0xf|h1<<4)) - m1
				y2[l] = float32(d2*float32(q[l]>>4|h2<<4)) - m2
			}
		}
		src = src[176:]
	}
}

// decodeQ6_K: {ql[128], qh[64], scales int8[16], d f16}; 6-bit values minus 32, 16 sub-blocks of 16 with
// signed 8-bit scales. Value e: low nibble from ql[64·(e/128) + e%64] (high nibble when (e%128) ≥ 64),
// two high bits from qh[32·(e/128) + e%32] >> 2·((e%128)/32).
func decodeQ6_K(dst []float32, src []byte, h *[1 << 16]float32) {
	for b := 0; len(src) >= 210; b++ {
		ql := src[0:128]
		qh := src[128:192]
		scales := src[192:208]
		d := h[binary.LittleEndian.Uint16(src[208:])]
		y := dst[256*b : 256*b+256]
		for half := 0; half < 2; half++ {
			l4 := ql[64*half : 64*half+64]
			h4 := qh[32*half : 32*half+32]
			yh := y[128*half : 128*half+128]
			sh := scales[8*half : 8*half+8]
			for l := 0; l < 32; l++ {
				is := l / 16
				q1 := int(l4[l]&0xf|(h4[l]&3)<<4) - 32
				q2 := int(l4[l+32]&0xf|((h4[l]>>2)&3)<<4) - 32
				q3 := int(l4[l]>>4|((h4[l]>>4)&3)<<4) - 32
				q4 := int(l4[l+32]>>4|((h4[l]>>6)&3)<<4) - 32
				yh[l] = float32(d*float32(int8(sh[is]))) * float32(q1)
				yh[l+32] = float32(d*float32(int8(sh[is+2]))) * float32(q2)
				yh[l+64] = float32(d*float32(int8(sh[is+4]))) * float32(q3)
				yh[l+96] = float32(d*float32(int8(sh[is+6]))) * float32(q4)
			}
		}
		src = src[210:]
	}
}

// iq4nlValues is the non-linear 4-bit codebook of IQ4_NL and IQ4_XS.
var iq4nlValues = [16]float32{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// decodeIQ4_NL: {d f16, qs[16]}; x = d·codebook[nibble], low nibbles values 0..15, high 16..31.
func decodeIQ4_NL(dst []float32, src []byte, h *[1 << 16]float32) {
	for b := 0; len(src) >= 18; b++ {
		d := h[binary.LittleEndian.Uint16(src)]
		qs := src[2:18]
		y := dst[32*b : 32*b+32]
		for j := 0; j < 16; j++ {
			y[j] = d * iq4nlValues[qs[j]&0xf]
			y[j+16] = d * iq4nlValues[qs[j]>>4]
		}
		src = src[18:]
	}
}

// decodeIQ4_XS: {d f16, scales_h u16, scales_l[4], qs[128]}; 8 sub-blocks of 32 with signed 6-bit scales
// (low 4 bits in scales_l, high 2 in scales_h) and IQ4_NL codebook values laid out as in IQ4_NL.
func decodeIQ4_XS(dst []float32, src []byte, h *[1 << 16]float32) {
	for b := 0; len(src) >= 136; b++ {
		d := h[binary.LittleEndian.Uint16(src)]
		sh := binary.LittleEndian.Uint16(src[2:])
		sl := src[4:8]
		qs := src[8:136]
		y := dst[256*b : 256*b+256]
		for j := 0; j < 8; j++ {
			ls := (sl[j/2]>>(4*uint(j%2)))&0xf | uint8((sh>>(2*uint(j)))&3)<<4
			dl := d * float32(int(ls)-32)
			q := qs[16*j : 16*j+16]
			yj := y[32*j : 32*j+32]
			for l := 0; l < 16; l++ {
				yj[l] = dl * iq4nlValues[q[l]&0xf]
				yj[l+16] = dl * iq4nlValues[q[l]>>4]
			}
		}
		src = src[136:]
	}
}
