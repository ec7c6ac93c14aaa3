package attn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// naiveDzZ returns Σ_{i} dz[i,h]·z[i,h] per query head h, for z the causal, windowed attention of
// (q, k, v) computed in float64 with whole score rows (naive).
func naiveDzZ(q, k, v, dz []float32, s Shape, scale float64, window int) []float64 {
	z := naive(q, k, v, s, 0, scale, window)
	out := make([]float64, s.NHeads)
	for i := range s.T {
		for h := range s.NHeads {
			for d := range s.DHead {
				o := (i*s.NHeads+h)*s.DHead + d
				out[h] += float64(dz[o]) * z[o]
			}
		}
	}
	return out
}

// naiveDelta is PatternDelta by its definition: for each patch, Σ dz·z with the patch applied (every
// patched key or query replaced) minus Σ dz·z without it, per query head, in float64.
func naiveDelta(q, k, v, dz []float32, p Patches, s Shape, scale float64, window int) []float64 {
	base := naiveDzZ(q, k, v, dz, s, scale, window)
	var out []float64
	apply := func(x, patched []float32, parts []int32, part int32, row int) []float32 {
		y := append([]float32(nil), x...)
		for i, pt := range parts {
			if pt == part {
				copy(y[i*row:(i+1)*row], patched[i*row:(i+1)*row])
			}
		}
		return y
	}
	for x := range p.NKey {
		got := naiveDzZ(q, apply(k, p.K, p.KeyPart, int32(x), s.NKVHeads*s.DHead), v, dz, s, scale, window)
		for h := range s.NHeads {
			out = append(out, got[h]-base[h])
		}
	}
	for x := range p.NQuery {
		got := naiveDzZ(apply(q, p.Q, p.QueryPart, int32(x), s.NHeads*s.DHead), k, v, dz, s, scale, window)
		for h := range s.NHeads {
			out = append(out, got[h]-base[h])
		}
	}
	return out
}

// starCase builds random inputs and patches: key patches over spans (one of them split in two runs, one
// the size of a whole key block) and query patches over spans, numbered in order, the rest unpatched.
func starCase(r *rand.Rand, s Shape, qk float32, keySpans, querySpans [][][2]int) ([]float32, []float32, []float32, []float32, Patches) {
	q, k, v := inputs(r, s, 0, qk)
	dz := random(len(q), r, 1)
	p := Patches{K: random(len(k), r, qk), Q: random(len(q), r, qk), KeyPart: make([]int32, s.T), QueryPart: make([]int32, s.T),
		NKey: len(keySpans), NQuery: len(querySpans)}
	for i := range p.KeyPart {
		p.KeyPart[i], p.QueryPart[i] = -1, -1
	}
	for x, spans := range keySpans {
		for _, sp := range spans {
			for j := sp[0]; j < sp[1]; j++ {
				p.KeyPart[j] = int32(x)
			}
		}
	}
	for x, spans := range querySpans {
		for _, sp := range spans {
			for j := sp[0]; j < sp[1]; j++ {
				p.QueryPart[j] = int32(x)
			}
		}
	}
	return q, k, v, dz, p
}

// TestPatternDeltaMatchesNaive compares PatternDelta with its definition computed in float64 with whole
// score rows, per patch and head: grouped heads, lengths that are not multiples of the tiles, sliding
// windows that cut inside and across key blocks (so some queries see only part of a patch, or none of
// it), a patch split into two runs, and saturated rows (q·k spread ±6 over d_head 32: score gaps past
// float32's e^−87, where a row's mass sits on a few keys). The tolerance is 1e-9 absolute plus 2e-5 of the
// sum of |dz·v|-weighted pattern mass the patch moves at most (Σ_i |dz_i|·max|v|·2 per head, bounded below
// by the scale of dz·z): float32 scores and exponentials (2 ulp) in sums of ≤ 700 keys.
func TestPatternDeltaMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	big := 1 << 30
	for _, tc := range []struct {
		name           string
		s              Shape
		qk             float32
		window         int
		keys, queries  [][][2]int
		scale          float64
		wantSaturation bool
	}{
		{"one key patch", Shape{T: 40, NHeads: 2, NKVHeads: 1, DHead: 8}, 1, big, [][][2]int{{{10, 15}}}, nil, 0, false},
		{"grouped, tiles", Shape{T: 300, NHeads: 6, NKVHeads: 2, DHead: 32}, 1, big,
			[][][2]int{{{0, 3}}, {{40, 60}, {200, 210}}, {{256, 290}}}, [][][2]int{{{50, 52}}, {{280, 300}}}, 0, false},
		{"window", Shape{T: 700, NHeads: 4, NKVHeads: 2, DHead: 16}, 1, 100,
			[][][2]int{{{5, 30}}, {{250, 520}}}, [][][2]int{{{120, 140}}, {{600, 700}}}, 0, false},
		{"window inside a block", Shape{T: 300, NHeads: 3, NKVHeads: 3, DHead: 16}, 1, 7,
			[][][2]int{{{100, 104}}, {{104, 200}}}, [][][2]int{{{3, 9}}}, 0, false},
		{"saturated", Shape{T: 200, NHeads: 4, NKVHeads: 2, DHead: 32}, 6, big,
			[][][2]int{{{20, 24}}, {{100, 160}}}, [][][2]int{{{150, 170}}}, 1, true},
		{"soft cap, window", Shape{T: 700, NHeads: 4, NKVHeads: 2, DHead: 16, Cap: 0.5}, 1, 100,
			[][][2]int{{{5, 30}}, {{250, 520}}}, [][][2]int{{{120, 140}}, {{600, 700}}}, 0, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q, k, v, dz, p := starCase(r, tc.s, tc.qk, tc.keys, tc.queries)
			scale := tc.scale
			if scale == 0 {
				scale = 1 / math.Sqrt(float64(tc.s.DHead))
			}
			out := make([]float64, (p.NKey+p.NQuery)*tc.s.NHeads)
			if err := PatternDelta(out, q, k, v, dz, p, tc.s, float32(scale), tc.window); err != nil {
				t.Fatal(err)
			}
			want := naiveDelta(q, k, v, dz, p, tc.s, scale, tc.window)
			// Scale of each head's terms: Σ_i |dz_i|₁·max|v|, with |v| ≤ 1.
			mag := make([]float64, tc.s.NHeads)
			for i := range tc.s.T {
				for h := range tc.s.NHeads {
					for d := range tc.s.DHead {
						mag[h] += math.Abs(float64(dz[(i*tc.s.NHeads+h)*tc.s.DHead+d]))
					}
				}
			}
			for x := range out {
				tol := 1e-9 + 2e-5*2*mag[x%tc.s.NHeads]
				if math.IsNaN(out[x]) || math.Abs(out[x]-want[x]) > tol {
					t.Errorf("patch %d head %d: %.9g, naive %.9g (tolerance %.2g)", x/tc.s.NHeads, x%tc.s.NHeads, out[x], want[x], tol)
				}
			}
			if tc.wantSaturation {
				// The case must really saturate: some row's largest score is ≥ 87 above its second.
				if gap := maxScoreGap(q, k, tc.s, scale); gap < 87 {
					t.Errorf("largest top-two score gap %.1f: not saturated past float32's exponential", gap)
				}
			}
		})
	}
}

// maxScoreGap returns the largest gap between a causal row's top two scores.
func maxScoreGap(q, k []float32, s Shape, scale float64) float64 {
	g := s.NHeads / s.NKVHeads
	best := 0.0
	for i := 1; i < s.T; i++ {
		for h := range s.NHeads {
			top, second := math.Inf(-1), math.Inf(-1)
			for j := 0; j <= i; j++ {
				sc := 0.0
				for d := range s.DHead {
					sc += float64(q[(i*s.NHeads+h)*s.DHead+d]) * float64(k[(j*s.NKVHeads+h/g)*s.DHead+d])
				}
				sc *= scale
				if sc > top {
					top, second = sc, top
				} else if sc > second {
					second = sc
				}
			}
			best = math.Max(best, top-second)
		}
	}
	return best
}

// TestPatternDeltaIdentity: patches that replace keys and queries by themselves give exactly 0: the
// old and new rows are the same float operations.
func TestPatternDeltaIdentity(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	s := Shape{T: 300, NHeads: 6, NKVHeads: 3, DHead: 16}
	q, k, v, dz, p := starCase(r, s, 2, [][][2]int{{{0, 10}}, {{30, 290}}}, [][][2]int{{{0, 5}}, {{100, 300}}})
	p.K, p.Q = k, q
	out := make([]float64, (p.NKey+p.NQuery)*s.NHeads)
	if err := PatternDelta(out, q, k, v, dz, p, s, 0.25, 1<<30); err != nil {
		t.Fatal(err)
	}
	for x, d := range out {
		if d != 0 {
			t.Errorf("self patch %d head %d: delta %g", x/s.NHeads, x%s.NHeads, d)
		}
	}
}

func TestPatternDeltaErrors(t *testing.T) {
	s := Shape{T: 4, NHeads: 2, NKVHeads: 1, DHead: 2}
	ok := func(n int) []float32 { return make([]float32, n) }
	parts := func(xs ...int32) []int32 { return xs }
	good := Patches{K: ok(8), KeyPart: parts(-1, 0, 0, -1), NKey: 1, QueryPart: parts(-1, -1, -1, -1)}
	if err := PatternDelta(make([]float64, 2), ok(16), ok(8), ok(8), ok(16), good, s, 1, 1<<30); err != nil {
		t.Fatalf("valid call: %v", err)
	}
	bad := good
	bad.KeyPart = parts(-1, 1, 0, -1)
	short := good
	short.K = ok(6)
	for name, err := range map[string]error{
		"out":        PatternDelta(make([]float64, 3), ok(16), ok(8), ok(8), ok(16), good, s, 1, 1<<30),
		"dz":         PatternDelta(make([]float64, 2), ok(16), ok(8), ok(8), ok(12), good, s, 1, 1<<30),
		"part":       PatternDelta(make([]float64, 2), ok(16), ok(8), ok(8), ok(16), bad, s, 1, 1<<30),
		"patched k":  PatternDelta(make([]float64, 2), ok(16), ok(8), ok(8), ok(16), short, s, 1, 1<<30),
		"no queries": PatternDelta(make([]float64, 2), ok(16), ok(8), ok(8), ok(16), Patches{K: ok(8), KeyPart: parts(-1, 0, 0, -1), NKey: 1}, s, 1, 1<<30),
	} {
		if err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func BenchmarkPatternDelta(b *testing.B) {
	s := Shape{T: 4096, NHeads: 9, NKVHeads: 3, DHead: 64}
	r := rand.New(rand.NewPCG(1, 2))
	var keys, queries [][][2]int
	for x := 0; x < 4000; x += 200 { // 20 segments of 200 tokens, as the aligned emails of an episode
		keys = append(keys, [][2]int{{x, x + 200}})
		queries = append(queries, [][2]int{{x, x + 200}})
	}
	q, k, v, dz, p := starCase(r, s, 1, keys, queries)
	out := make([]float64, (p.NKey+p.NQuery)*s.NHeads)
	for b.Loop() {
		if err := PatternDelta(out, q, k, v, dz, p, s, 0.125, 1<<30); err != nil {
			b.Fatal(err)
		}
	}
}
