package vmath

import "math"

// Exp32 is e^x in float32 arithmetic (Cephes expf: range reduction by ln 2, degree-5 polynomial),
// within 2 ulp of math.Exp; 0 for x below −87.3 (including −∞), +∞ above 88.7.
func Exp32(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		ln2hi = 0.693359375
		ln2lo = -2.12194440e-4
	)
	if x < -87.33654 {
		return 0
	}
	if x > 88.72283 {
		return float32(math.Inf(1))
	}
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*ln2hi - n*ln2lo
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// Sigmoid sets dst[i] = 1/(1+e^−x[i]) (the logistic function); dst may be x. It exponentiates −|x|,
// never a positive number, so no step overflows: e^−|x|/(1+e^−|x|) for negative x, as GoMLX's
// SimpleGo and XLA do. NaN stays NaN.
func Sigmoid(dst, x []float32) {
	dst = dst[:len(x)]
	var neg [256]bool // x's signs, block by block, since dst may overwrite x
	for b := 0; b < len(x); b += len(neg) {
		xb, db := x[b:min(b+len(neg), len(x))], dst[b:min(b+len(neg), len(x))]
		sg := neg[:len(xb)]
		nan := false
		for i, v := range xb {
			sg[i] = v < 0
			nan = nan || v != v
			db[i] = -abs32(v)
		}
		var nanAt []int // the exponential clamps NaN: note where, to put it back
		if nan {
			for i, v := range db {
				if v != v {
					nanAt = append(nanAt, i)
				}
			}
		}
		ExpShift(db, 0)
		for i, e := range db {
			d := 1 / (1 + e)
			if sg[i] {
				d *= e // e/(1+e)
			}
			db[i] = d
		}
		for _, i := range nanAt {
			db[i] = float32(math.NaN())
		}
	}
}

func abs32(x float32) float32 { return math.Float32frombits(math.Float32bits(x) &^ (1 << 31)) }
