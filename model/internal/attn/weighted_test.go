package attn

import (
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"testing"
)

// naivePattern is the attention pattern [NHeads, T, T] in float64 with every score row materialised.
func naivePattern(q, k []float32, s Shape, scale float64, window int) []float64 {
	dh, g, T := s.DHead, s.NHeads/s.NKVHeads, s.T
	p := make([]float64, s.NHeads*T*T)
	for h := range s.NHeads {
		kh := h / g
		for i := range T {
			row := p[(h*T+i)*T:][:T]
			mx := math.Inf(-1)
			for j := 0; j <= i; j++ {
				if i-j >= window {
					continue
				}
				sc := 0.0
				for d := range dh {
					sc += float64(q[(i*s.NHeads+h)*dh+d]) * float64(k[(j*s.NKVHeads+kh)*dh+d])
				}
				row[j], _ = capped(sc*scale, s.Cap)
				mx = math.Max(mx, row[j])
			}
			sum := 0.0
			for j := 0; j <= i; j++ {
				if i-j < window {
					row[j] = math.Exp(row[j] - mx)
					sum += row[j]
				}
			}
			for j := range row {
				row[j] /= sum
			}
		}
	}
	return p
}

// TestWeightedPatternMatchesNaive compares LSE and WeightedPattern with float64 attention patterns on
// random inputs: lengths that are not multiples of the tiles, grouped and plain heads, sliding windows
// that cut inside and across key blocks, and weight rows that are one-hot (single pattern rows),
// uniform over spans (segment means), signed, and zero over whole query blocks (skipped blocks).
// Tolerance 2e-5 absolute on out: probabilities ≤ 1 in float32 from scores of length ≤ 64 (a few ulp
// of exp's argument each), summed with weights of total |w| ≤ 3 per row; lse to 2e-5 likewise.
func TestWeightedPatternMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		s      Shape
		window int
	}{
		{Shape{T: 1, NHeads: 2, NKVHeads: 1, DHead: 8}, 1 << 30},
		{Shape{T: 5, NHeads: 4, NKVHeads: 2, DHead: 16}, 2},
		{Shape{T: 70, NHeads: 4, NKVHeads: 4, DHead: 16}, 1 << 30},
		{Shape{T: 300, NHeads: 9, NKVHeads: 3, DHead: 64}, 1 << 30},
		{Shape{T: 400, NHeads: 6, NKVHeads: 2, DHead: 32}, 100},
		{Shape{T: 390, NHeads: 4, NKVHeads: 1, DHead: 16}, 129},
		{Shape{T: 260, NHeads: 2, NKVHeads: 1, DHead: 8}, 1},
		{Shape{T: 400, NHeads: 6, NKVHeads: 2, DHead: 32, Cap: 1.5}, 100},
		{Shape{T: 300, NHeads: 9, NKVHeads: 3, DHead: 64, Cap: 0.7}, 1 << 30},
	} {
		q, k, _ := inputs(r, tc.s, 0, 2)
		scale := 1 / math.Sqrt(float64(tc.s.DHead))
		want := naivePattern(q, k, tc.s, scale, tc.window)
		T := tc.s.T
		lse := make([]float32, tc.s.NHeads*T)
		if err := LSE(lse, q, k, tc.s, float32(scale), tc.window); err != nil {
			t.Fatal(err)
		}
		// Rows: the last query, the first, a span's mean, signed random weights on the second half only.
		var w []float32
		oneHot := func(i int) {
			row := make([]float32, T)
			row[i] = 1
			w = append(w, row...)
		}
		oneHot(T - 1)
		oneHot(0)
		span := make([]float32, T)
		for i := T / 3; i < max(T/3+1, 2*T/3); i++ {
			span[i] = 1 / float32(max(1, 2*T/3-T/3))
		}
		w = append(w, span...)
		signed := make([]float32, T)
		for i := T / 2; i < T; i++ {
			signed[i] = r.Float32()*2 - 1
		}
		w = append(w, signed...)
		R := len(w) / T
		out := make([]float32, R*tc.s.NHeads*T)
		for i := range out {
			out[i] = float32(math.NaN()) // every entry must be written
		}
		if err := WeightedPattern(out, w, q, k, lse, tc.s, float32(scale), tc.window); err != nil {
			t.Fatal(err)
		}
		worst := 0.0
		for h := range tc.s.NHeads {
			for rr := range R {
				for j := range T {
					ref := 0.0
					for i := range T {
						ref += float64(w[rr*T+i]) * want[(h*T+i)*T+j]
					}
					got := float64(out[(rr*tc.s.NHeads+h)*T+j])
					if d := math.Abs(got - ref); !(d <= worst) {
						worst = d
					}
				}
			}
		}
		if !(worst <= 2e-5) {
			t.Errorf("%+v window %d: max |out − naive| = %.3g, want ≤ 2e-5", tc.s, tc.window, worst)
		}
		// lse itself: the naive log-sum-exp of query T−1 of head 0.
		if got, ref := float64(lse[T-1]), naiveLSE(q, k, tc.s, scale, tc.window, 0, T-1); math.Abs(got-ref) > 2e-5*math.Max(1, math.Abs(ref)) {
			t.Errorf("%+v window %d: lse[0, %d] = %v, want %v", tc.s, tc.window, T-1, got, ref)
		}
	}
}

// naiveLSE is the float64 log-sum-exp of query i's visible scaled scores in head h.
func naiveLSE(q, k []float32, s Shape, scale float64, window, h, i int) float64 {
	dh, kh := s.DHead, h/(s.NHeads/s.NKVHeads)
	var sc []float64
	for j := max(0, i-window+1); j <= i; j++ {
		x := 0.0
		for d := range dh {
			x += float64(q[(i*s.NHeads+h)*dh+d]) * float64(k[(j*s.NKVHeads+kh)*dh+d])
		}
		y, _ := capped(x*scale, s.Cap)
		sc = append(sc, y)
	}
	mx := slices.Max(sc)
	sum := 0.0
	for _, x := range sc {
		sum += math.Exp(x - mx)
	}
	return mx + math.Log(sum)
}

// TestWeightedPatternDeterministic: the same bits on one goroutine and on several (each work item owns
// its output columns and sums its query blocks in order).
func TestWeightedPatternDeterministic(t *testing.T) {
	s := Shape{T: 333, NHeads: 6, NKVHeads: 2, DHead: 32}
	q, k, _ := inputs(rand.New(rand.NewPCG(5, 6)), s, 0, 2)
	w := random(3*s.T, rand.New(rand.NewPCG(7, 8)), 1)
	run := func(procs int) []float32 {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		lse := make([]float32, s.NHeads*s.T)
		out := make([]float32, 3*s.NHeads*s.T)
		if err := LSE(lse, q, k, s, 0.2, 1<<30); err != nil {
			t.Fatal(err)
		}
		if err := WeightedPattern(out, w, q, k, lse, s, 0.2, 1<<30); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if a, b := run(1), run(4); !slices.Equal(a, b) {
		t.Error("WeightedPattern differs between 1 and 4 goroutines")
	}
}

func TestWeightedPatternErrors(t *testing.T) {
	s := Shape{T: 4, NHeads: 2, NKVHeads: 1, DHead: 2}
	ok := func(n int) []float32 { return make([]float32, n) }
	if err := LSE(ok(8), ok(16), ok(8), s, 1, 1<<30); err != nil {
		t.Fatalf("valid LSE call: %v", err)
	}
	if err := WeightedPattern(ok(16), ok(8), ok(16), ok(8), ok(8), s, 1, 1<<30); err != nil {
		t.Fatalf("valid WeightedPattern call: %v", err)
	}
	for name, err := range map[string]error{
		"lse short":       LSE(ok(7), ok(16), ok(8), s, 1, 1<<30),
		"lse short k":     LSE(ok(8), ok(16), ok(7), s, 1, 1<<30),
		"lse window":      LSE(ok(8), ok(16), ok(8), s, 1, 0),
		"w not rows":      WeightedPattern(ok(16), ok(7), ok(16), ok(8), ok(8), s, 1, 1<<30),
		"no rows":         WeightedPattern(nil, nil, ok(16), ok(8), ok(8), s, 1, 1<<30),
		"out short":       WeightedPattern(ok(15), ok(8), ok(16), ok(8), ok(8), s, 1, 1<<30),
		"weighted lse":    WeightedPattern(ok(16), ok(8), ok(16), ok(8), ok(7), s, 1, 1<<30),
		"weighted groups": WeightedPattern(ok(16), ok(8), ok(16), ok(8), ok(8), Shape{T: 4, NHeads: 3, NKVHeads: 2, DHead: 2}, 1, 1<<30),
		"causal nil z":    Causal(nil, ok(16), ok(8), nil, s, 1, 1<<30),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

// BenchmarkWeightedPattern is one SmolLM2 layer at 4k tokens: the row log-sum-exps and 64 dense rows
// of query weights (a rollout step over 64 rows).
func BenchmarkWeightedPattern(b *testing.B) {
	s := Shape{T: 4096, NHeads: 9, NKVHeads: 3, DHead: 64}
	q, k, _ := inputs(rand.New(rand.NewPCG(1, 2)), s, 0, 1)
	const R = 64
	w := random(R*s.T, rand.New(rand.NewPCG(3, 4)), 1)
	lse := make([]float32, s.NHeads*s.T)
	out := make([]float32, R*s.NHeads*s.T)
	for b.Loop() {
		if err := LSE(lse, q, k, s, 0.125, 1<<30); err != nil {
			b.Fatal(err)
		}
		if err := WeightedPattern(out, w, q, k, lse, s, 0.125, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}
