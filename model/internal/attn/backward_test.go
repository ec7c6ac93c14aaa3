package attn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// naiveGrads returns, in float64 with whole score rows, the log-sum-exp of every query row
// ([NHeads, T]) and the gradients of Σ dz·z with respect to q, k and v, from the softmax Jacobian:
// dv_j = Σ_i P_ij dz_i, dS_ij = P_ij (dz_i·v_j − Σ_j' P_ij' dz_i·v_j'), dq_i = scale Σ_j dS_ij k_j,
// dk_j = scale Σ_i dS_ij q_i; with a soft cap, dS_ij is multiplied by the cap's derivative.
func naiveGrads(q, k, v, dz []float32, s Shape, scale float64, window int) (lse, dq, dk, dv []float64) {
	dh, g := s.DHead, s.NHeads/s.NKVHeads
	lse = make([]float64, s.NHeads*s.T)
	dq, dk, dv = make([]float64, len(q)), make([]float64, len(k)), make([]float64, len(v))
	dot := func(a []float32, ai int, b []float32, bi int) float64 {
		acc := 0.0
		for d := range dh {
			acc += float64(a[ai+d]) * float64(b[bi+d])
		}
		return acc
	}
	for i := range s.T {
		for h := range s.NHeads {
			kh := h / g
			qo := (i*s.NHeads + h) * dh
			var p []float64
			mx := math.Inf(-1)
			for j := 0; j <= i; j++ {
				sc := math.Inf(-1)
				if i-j < window {
					sc, _ = capped(scale*dot(q, qo, k, (j*s.NKVHeads+kh)*dh), s.Cap)
				}
				p = append(p, sc)
				mx = math.Max(mx, sc)
			}
			sum := 0.0
			for j := range p {
				p[j] = math.Exp(p[j] - mx)
				sum += p[j]
			}
			lse[h*s.T+i] = mx + math.Log(sum)
			dp := make([]float64, len(p))
			mean := 0.0
			for j := range p {
				p[j] /= sum
				dp[j] = dot(dz, qo, v, (j*s.NKVHeads+kh)*dh)
				mean += p[j] * dp[j]
			}
			for j := range p {
				ko := (j*s.NKVHeads + kh) * dh
				ds := p[j] * (dp[j] - mean)
				if p[j] > 0 {
					_, dc := capped(scale*dot(q, qo, k, ko), s.Cap)
					ds *= dc
				}
				for d := range dh {
					dv[ko+d] += p[j] * float64(dz[qo+d])
					dq[qo+d] += scale * ds * float64(k[ko+d])
					dk[ko+d] += scale * ds * float64(q[qo+d])
				}
			}
		}
	}
	return lse, dq, dk, dv
}

// forwardLSE returns random inputs for s (see inputs), an output gradient dz in [−1, 1], and CausalLSE's
// z and lse for them.
func forwardLSE(tb testing.TB, r *rand.Rand, s Shape, qk, scale float32, window int) (q, k, v, dz, z, lse []float32) {
	q, k, v = inputs(r, s, 0, qk)
	dz = random(len(q), r, 1)
	z, lse = make([]float32, len(q)), make([]float32, s.NHeads*s.T)
	if err := CausalLSE(z, lse, q, k, v, s, scale, window); err != nil {
		tb.Fatal(err)
	}
	return q, k, v, dz, z, lse
}

// TestNaiveGradsFiniteDifference checks the float64 reference against central differences of the
// float64 forward (naive), so the reference's formula is not taken on trust. Tolerance 1e-6: central
// differences with step 1e-4 on a smooth function of values of order 1 err by ~1e-8.
func TestNaiveGradsFiniteDifference(t *testing.T) {
	for _, c := range []float32{0, 0.5} { // no soft cap, and one below the scores' spread
		t.Run(fmt.Sprintf("cap %g", c), func(t *testing.T) { naiveGradsFiniteDifference(t, c) })
	}
}

func naiveGradsFiniteDifference(t *testing.T, cap float32) {
	r := rand.New(rand.NewPCG(5, 6))
	s := Shape{T: 5, NHeads: 4, NKVHeads: 2, DHead: 3, Cap: cap}
	const window, scale = 3, 0.7
	q := random(s.T*s.NHeads*s.DHead, r, 1)
	k := random(s.T*s.NKVHeads*s.DHead, r, 1)
	v := random(s.T*s.NKVHeads*s.DHead, r, 1)
	dz := random(len(q), r, 1)
	loss := func() float64 {
		z := naive(q, k, v, s, 0, scale, window)
		acc := 0.0
		for i := range z {
			acc += z[i] * float64(dz[i])
		}
		return acc
	}
	_, dq, dk, dv := naiveGrads(q, k, v, dz, s, scale, window)
	for _, c := range []struct {
		name string
		x    []float32
		g    []float64
	}{{"q", q, dq}, {"k", k, dk}, {"v", v, dv}} {
		for i := range c.x {
			x := c.x[i]
			// float32 inputs: step by a power of two so x±h is exact.
			const h = 1.0 / 8192
			c.x[i] = x + h
			up := loss()
			c.x[i] = x - h
			down := loss()
			c.x[i] = x
			if fd := (up - down) / (2 * h); math.Abs(fd-c.g[i]) > 1e-6 {
				t.Errorf("d%s[%d]: reference %.9f, finite difference %.9f", c.name, i, c.g[i], fd)
			}
		}
	}
}

// TestBackwardMatchesNaive compares CausalLSE's lse and Backward's gradients with the float64
// reference across lengths that are not multiples of the tiles, grouped and plain heads, and windows
// that cut inside and across key blocks. Tolerance 5e-5 relative to the largest gradient (float32
// products of length ≤ 64 and sums over ≤ 700 keys, or queries for dk and dv), and at least 1e-6:
// where a query sees one key, dq and dk are 0 in exact arithmetic, and float32 leaves
// p·(dz·v − dz·z) at ~1e-7.
func TestBackwardMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		s      Shape
		window int
	}{
		{Shape{T: 1, NHeads: 2, NKVHeads: 1, DHead: 8}, 1 << 30},
		{Shape{T: 70, NHeads: 4, NKVHeads: 4, DHead: 16}, 1 << 30},
		{Shape{T: 300, NHeads: 9, NKVHeads: 3, DHead: 64}, 1 << 30},
		{Shape{T: 700, NHeads: 6, NKVHeads: 2, DHead: 32}, 1 << 30},
		{Shape{T: 700, NHeads: 6, NKVHeads: 2, DHead: 32}, 100},
		{Shape{T: 600, NHeads: 4, NKVHeads: 1, DHead: 16}, 300},
		{Shape{T: 257, NHeads: 2, NKVHeads: 1, DHead: 8}, 1},
		{Shape{T: 300, NHeads: 6, NKVHeads: 2, DHead: 32, Cap: 1.5}, 1 << 30},
		{Shape{T: 600, NHeads: 4, NKVHeads: 1, DHead: 16, Cap: 0.7}, 300},
	} {
		s := tc.s
		scale := 1 / math.Sqrt(float64(s.DHead))
		q, k, v, dz, z, lse := forwardLSE(t, r, s, 2, float32(scale), tc.window)
		dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
		for i := range dk { // Backward overwrites: stale values must not leak in
			dk[i], dv[i] = 9, 9
		}
		if err := Backward(dq, dk, dv, q, k, v, z, dz, lse, s, float32(scale), tc.window); err != nil {
			t.Fatal(err)
		}
		wLSE, wq, wk, wv := naiveGrads(q, k, v, dz, s, scale, tc.window)
		for _, c := range []struct {
			name string
			got  []float32
			want []float64
		}{{"lse", lse, wLSE}, {"dq", dq, wq}, {"dk", dk, wk}, {"dv", dv, wv}} {
			big, worst := 0.0, 0.0
			for i, w := range c.want {
				big = math.Max(big, math.Abs(w))
				worst = math.Max(worst, math.Abs(float64(c.got[i])-w))
			}
			if tol := math.Max(5e-5*big, 1e-6); worst > tol {
				t.Errorf("%+v window %d: max |%s − naive| = %.3g, want ≤ %.3g", s, tc.window, c.name, worst, tol)
			}
		}
	}
}

// TestBackwardDeterministic: the gradients are the same bits on 1, 2 and 3 goroutines (dq sums run in a
// fixed order whatever the schedule).
func TestBackwardDeterministic(t *testing.T) {
	s := Shape{T: 1000, NHeads: 6, NKVHeads: 2, DHead: 16}
	q, k, v, dz, z, lse := forwardLSE(t, rand.New(rand.NewPCG(7, 8)), s, 2, 0.25, 1<<30)
	var ref []float32
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
		if err := Backward(dq, dk, dv, q, k, v, z, dz, lse, s, 0.25, 1<<30); err != nil {
			t.Fatal(err)
		}
		got := append(append(dq, dk...), dv...)
		if ref == nil {
			ref = got
		} else if !slices.Equal(got, ref) {
			t.Errorf("GOMAXPROCS %d: gradients differ from GOMAXPROCS 1", procs)
		}
	}
}

func TestBackwardErrors(t *testing.T) {
	s := Shape{T: 4, NHeads: 2, NKVHeads: 1, DHead: 2}
	ok := func(n int) []float32 { return make([]float32, n) }
	if err := Backward(ok(16), ok(8), ok(8), ok(16), ok(8), ok(8), ok(16), ok(16), ok(8), s, 1, 1<<30); err != nil {
		t.Fatalf("valid call: %v", err)
	}
	for name, err := range map[string]error{
		"short dk":  Backward(ok(16), ok(7), ok(8), ok(16), ok(8), ok(8), ok(16), ok(16), ok(8), s, 1, 1<<30),
		"short lse": Backward(ok(16), ok(8), ok(8), ok(16), ok(8), ok(8), ok(16), ok(16), ok(7), s, 1, 1<<30),
		"window 0":  Backward(ok(16), ok(8), ok(8), ok(16), ok(8), ok(8), ok(16), ok(16), ok(8), s, 1, 0),
		"lse size":  CausalLSE(ok(16), ok(7), ok(16), ok(8), ok(8), s, 1, 1<<30),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// BenchmarkBackward runs Backward at SmolLM2-135M's 4k-token layer shape; GFLOP/s counts the five
// causal products (recomputed scores, dv, dP, dq, dk).
func BenchmarkBackward(b *testing.B) {
	s := Shape{T: 4096, NHeads: 9, NKVHeads: 3, DHead: 64}
	q, k, v, dz, z, lse := forwardLSE(b, rand.New(rand.NewPCG(1, 2)), s, 1, 0.125, 1<<30)
	dq, dk, dv := make([]float32, len(q)), make([]float32, len(k)), make([]float32, len(v))
	for b.Loop() {
		if err := Backward(dq, dk, dv, q, k, v, z, dz, lse, s, 0.125, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
	flops := 5 * 2 * float64(s.T) * float64(s.T+1) / 2 * float64(s.NHeads*s.DHead)
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}
