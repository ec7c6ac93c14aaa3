package attn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// capped is the soft cap of a scaled score in float64, c·tanh(x/c) (x itself for c = 0), and its
// derivative.
func capped(x float64, c float32) (y, dy float64) {
	if c == 0 {
		return x, 1
	}
	t := math.Tanh(x / float64(c))
	return float64(c) * t, 1 - t*t
}

// naive is causal attention in float64 with the whole score row materialised; query i sits at position
// past+i.
func naive(q, k, v []float32, s Shape, past int, scale float64, window int) []float64 {
	dh, g := s.DHead, s.NHeads/s.NKVHeads
	z := make([]float64, len(q))
	for qi := range s.T {
		i := past + qi
		for h := range s.NHeads {
			kh := h / g
			var w []float64
			mx := math.Inf(-1)
			for j := 0; j <= i; j++ {
				sc := math.Inf(-1)
				if i-j < window {
					sc = 0
					for d := range dh {
						sc += float64(q[(qi*s.NHeads+h)*dh+d]) * float64(k[(j*s.NKVHeads+kh)*dh+d])
					}
					sc, _ = capped(sc*scale, s.Cap)
				}
				w = append(w, sc)
				mx = math.Max(mx, sc)
			}
			sum := 0.0
			for j := range w {
				w[j] = math.Exp(w[j] - mx)
				sum += w[j]
			}
			for j := range w {
				for d := range dh {
					z[(qi*s.NHeads+h)*dh+d] += w[j] / sum * float64(v[(j*s.NKVHeads+kh)*dh+d])
				}
			}
		}
	}
	return z
}

// inputs returns random q [T, NHeads, DHead] and k, v [past+T, NKVHeads, DHead], q and k in
// [−qk, qk] and v in [−1, 1].
func inputs(r *rand.Rand, s Shape, past int, qk float32) (q, k, v []float32) {
	n := (past + s.T) * s.NKVHeads * s.DHead
	return random(s.T*s.NHeads*s.DHead, r, qk), random(n, r, qk), random(n, r, 1)
}

func random(n int, r *rand.Rand, spread float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = (r.Float32()*2 - 1) * spread
	}
	return x
}

// TestCausalMatchesNaive compares the tiled kernel with float64 attention on random inputs, across
// lengths that are not multiples of the tiles, grouped and plain heads, and sliding windows that cut
// inside and across key blocks, with and without a prefix of earlier keys. Tolerance 2e-5: float32 products of length ≤ 64 and sums over ≤ 700
// keys of values in [-1, 1].
func TestCausalMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, tc := range []struct {
		s            Shape
		past, window int
	}{
		{Shape{T: 1, NHeads: 2, NKVHeads: 1, DHead: 8}, 0, 1 << 30},
		{Shape{T: 70, NHeads: 4, NKVHeads: 4, DHead: 16}, 0, 1 << 30},
		{Shape{T: 300, NHeads: 9, NKVHeads: 3, DHead: 64}, 0, 1 << 30},
		{Shape{T: 700, NHeads: 6, NKVHeads: 2, DHead: 32}, 0, 1 << 30},
		{Shape{T: 700, NHeads: 6, NKVHeads: 2, DHead: 32}, 0, 100},
		{Shape{T: 600, NHeads: 4, NKVHeads: 1, DHead: 16}, 0, 300},
		{Shape{T: 300, NHeads: 9, NKVHeads: 3, DHead: 64}, 133, 1 << 30},
		{Shape{T: 1, NHeads: 9, NKVHeads: 3, DHead: 64}, 400, 1 << 30},
		{Shape{T: 200, NHeads: 6, NKVHeads: 2, DHead: 32}, 333, 150},
		// Soft caps (Gemma-2) below the scores' spread (≈1.3 here), with windows and a prefix.
		{Shape{T: 300, NHeads: 6, NKVHeads: 2, DHead: 32, Cap: 1.5}, 0, 1 << 30},
		{Shape{T: 600, NHeads: 4, NKVHeads: 1, DHead: 16, Cap: 0.7}, 0, 300},
		{Shape{T: 200, NHeads: 6, NKVHeads: 2, DHead: 32, Cap: 1.5}, 333, 150},
	} {
		q, k, v := inputs(r, tc.s, tc.past, 2)
		z := make([]float32, len(q))
		scale := 1 / math.Sqrt(float64(tc.s.DHead))
		if err := CausalAfter(z, q, k, v, tc.s, tc.past, float32(scale), tc.window); err != nil {
			t.Fatal(err)
		}
		want := naive(q, k, v, tc.s, tc.past, scale, tc.window)
		worst := 0.0
		for i := range z {
			worst = math.Max(worst, math.Abs(float64(z[i])-want[i]))
		}
		if worst > 2e-5 {
			t.Errorf("%+v past %d window %d: max |z − naive| = %.3g, want ≤ 2e-5", tc.s, tc.past, tc.window, worst)
		}
	}
}

func TestCausalErrors(t *testing.T) {
	s := Shape{T: 4, NHeads: 2, NKVHeads: 1, DHead: 2}
	ok := func(n int) []float32 { return make([]float32, n) }
	if err := Causal(ok(16), ok(16), ok(8), ok(8), s, 1, 1<<30); err != nil {
		t.Fatalf("valid call: %v", err)
	}
	for name, err := range map[string]error{
		"short k":   Causal(ok(16), ok(16), ok(7), ok(8), s, 1, 1<<30),
		"groups":    Causal(ok(16), ok(16), ok(8), ok(8), Shape{T: 4, NHeads: 3, NKVHeads: 2, DHead: 2}, 1, 1<<30),
		"window 0":  Causal(ok(16), ok(16), ok(8), ok(8), s, 1, 0),
		"no tokens": Causal(nil, nil, nil, nil, Shape{NHeads: 2, NKVHeads: 1, DHead: 2}, 1, 1),
		"past keys": CausalAfter(ok(16), ok(16), ok(8), ok(8), s, 1, 1, 1<<30),
		"past < 0":  CausalAfter(ok(16), ok(16), ok(8), ok(8), s, -1, 1, 1<<30),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func BenchmarkCausal(b *testing.B) {
	s := Shape{T: 4096, NHeads: 9, NKVHeads: 3, DHead: 64}
	q, k, v := inputs(rand.New(rand.NewPCG(1, 2)), s, 0, 1)
	z := make([]float32, len(q))
	for b.Loop() {
		if err := Causal(z, q, k, v, s, 0.125, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
	flops := 2 * 2 * float64(s.T) * float64(s.T+1) / 2 * float64(s.NHeads*s.DHead)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
