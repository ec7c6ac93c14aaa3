package gguf

import (
	"encoding/binary"
	"math"
)

// The K-quant encoders below are simple, not ggml's: each sub-block takes its own min/max (or absmax)
// range, and the 6-bit or 8-bit sub-block scales are rounded against the super-block scale, without
// ggml's iterative search for the best scales. They produce valid blocks that any GGUF reader decodes,
// with errors somewhat above llama.cpp's; they exist so that tests can build K-quant models.

// roundClamp rounds v to the nearest integer (halves away from zero) and clamps it to [lo, hi]; NaN
// gives lo.
func roundClamp(v float32, lo, hi int) int {
	r := math.Round(float64(v))
	if !(r >= float64(lo)) {
		return lo
	}
	if r > float64(hi) {
		return hi
	}
	return int(r)
}

// f16Round returns v rounded to binary16 and its bits.
func f16Round(v float32) (float32, uint16) {
	h := float32ToHalf(v)
	return halfToFloat32(h), h
}

// packScaleMinK4 is the inverse of scaleMinK4: eight 6-bit scales and mins into 12 bytes.
func packScaleMinK4(s []byte, sc, mn *[8]uint8) {
	for j := 0; j < 4; j++ {
		s[j] = sc[j] | (sc[j+4]>>4)<<6
		s[j+4] = mn[j] | (mn[j+4]>>4)<<6
		s[j+8] = sc[j+4]&0xf | (mn[j+4]&0xf)<<4
	}
}

// asymK quantises a 256-value super-block as 8 sub-blocks of 32 with levels 0..maxQ, x ≈ d·sc·q − dmin·m.
// It returns the f16 bits of d and dmin, the 6-bit scales and mins, and the levels.
func asymK(x []float32, maxQ int, q *[256]uint8) (uint16, uint16, [8]uint8, [8]uint8) {
	var scale, mins [8]float32
	var maxScale, maxMin float32
	for j := 0; j < 8; j++ {
		lo, hi := minMax(x[32*j : 32*j+32])
		lo = min(lo, 0)
		scale[j] = (hi - lo) / float32(maxQ)
		mins[j] = -lo
		maxScale = max(maxScale, scale[j])
		maxMin = max(maxMin, mins[j])
	}
	d, dBits := f16Round(maxScale / 63)
	dmin, dminBits := f16Round(maxMin / 63)
	var sc, mn [8]uint8
	for j := 0; j < 8; j++ {
		if d > 0 {
			// Round the scale up so the range still covers the sub-block.
			sc[j] = uint8(min(63, int(math.Ceil(float64(scale[j]/d)))))
		}
		if dmin > 0 {
			mn[j] = uint8(roundClamp(mins[j]/dmin, 0, 63))
		}
		s := d * float32(sc[j])
		m := dmin * float32(mn[j])
		is := inv(s)
		for l := 0; l < 32; l++ {
			q[32*j+l] = uint8(roundClamp(float32(x[32*j+l]+m)*is, 0, maxQ))
		}
	}
	return dBits, dminBits, sc, mn
}

func encodeQ4_K(dst []byte, src []float32) {
	var q [256]uint8
	for ; len(src) >= 256; src, dst = src[256:], dst[144:] {
		dBits, dminBits, sc, mn := asymK(src[:256], 15, &q)
		binary.LittleEndian.PutUint16(dst, dBits)
		binary.LittleEndian.PutUint16(dst[2:], dminBits)
		packScaleMinK4(dst[4:16], &sc, &mn)
		qs := dst[16:144]
		for j := 0; j < 8; j += 2 {
			for l := 0; l < 32; l++ {
				qs[16*j+l] = q[32*j+l] | q[32*(j+1)+l]<<4
			}
		}
	}
}

func encodeQ5_K(dst []byte, src []float32) {
	var q [256]uint8
	for ; len(src) >= 256; src, dst = src[256:], dst[176:] {
		dBits, dminBits, sc, mn := asymK(src[:256], 31, &q)
		binary.LittleEndian.PutUint16(dst, dBits)
		binary.LittleEndian.PutUint16(dst[2:], dminBits)
		packScaleMinK4(dst[4:16], &sc, &mn)
		qh := dst[16:48]
		qs := dst[48:176]
		clear(qh)
		for j := 0; j < 8; j += 2 {
			for l := 0; l < 32; l++ {
				q1, q2 := q[32*j+l], q[32*(j+1)+l]
				qs[16*j+l] = q1&0xf | (q2&0xf)<<4
				qh[l] |= (q1>>4)<<j | (q2>>4)<<(j+1)
			}
		}
	}
}

func encodeQ6_K(dst []byte, src []float32) {
	var q [256]uint8
	for ; len(src) >= 256; src, dst = src[256:], dst[210:] {
		x := src[:256]
		var scale [16]float32
		var amax, maxScale float32
		for j := 0; j < 16; j++ {
			scale[j] = absMax(x[16*j:16*j+16]) / -32
			if a := float32(math.Abs(float64(scale[j]))); a > amax {
				amax, maxScale = a, scale[j]
			}
		}
		d, dBits := f16Round(maxScale / -128)
		id := inv(d)
		scales := dst[192:208]
		for j := 0; j < 16; j++ {
			sc := roundClamp(scale[j]*id, -128, 127)
			scales[j] = byte(int8(sc))
			is := inv(d * float32(sc))
			for l := 0; l < 16; l++ {
				q[16*j+l] = uint8(roundClamp(x[16*j+l]*is, -32, 31) + 32)
			}
		}
		ql := dst[0:128]
		qh := dst[128:192]
		for half := 0; half < 2; half++ {
			for l := 0; l < 32; l++ {
				e := 128*half + l
				q1, q2, q3, q4 := q[e], q[e+32], q[e+64], q[e+96]
				ql[64*half+l] = q1&0xf | (q3&0xf)<<4
				ql[64*half+l+32] = q2&0xf | (q4&0xf)<<4
				qh[32*half+l] = q1>>4 | (q2>>4)<<2 | (q3>>4)<<4 | (q4>>4)<<6
			}
		}
		binary.LittleEndian.PutUint16(dst[208:], dBits)
	}
}

func encodeQ8_K(dst []byte, src []float32) {
	for ; len(src) >= 256; src, dst = src[256:], dst[292:] {
		x := src[:256]
		mx := absMax(x)
		var d, id float32
		if mx != 0 {
			id = -127 / mx
			d = 1 / id
		}
		binary.LittleEndian.PutUint32(dst, math.Float32bits(d))
		qs := dst[4:260]
		for j, v := range x {
			qs[j] = byte(int8(roundClamp(v*id, -128, 127)))
		}
		for g := 0; g < 16; g++ {
			var sum int16
			for _, b := range qs[16*g : 16*g+16] {
				sum += int16(int8(b))
			}
			binary.LittleEndian.PutUint16(dst[260+2*g:], uint16(sum))
		}
	}
}
