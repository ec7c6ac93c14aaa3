package attn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestDecodeMatchesNaive compares Decode with float64 attention of one query after past keys, the keys
// split into two segments (a shared prompt and a row's own keys) at different points per row, with
// grouped heads, sliding windows that cut inside either segment, soft caps, a padding row with no
// segments, and keys and values given transposed (Segment.KT, VT) in odd rows. Tolerance 2e-5 as in TestCausalMatchesNaive (float32 products and sums over ≤ 700 keys).
func TestDecodeMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, c := range []struct {
		name   string
		s      Shape
		past   []int // per row: keys before the query
		split  []int // per row: where the first segment ends
		window int
	}{
		{"mha", Shape{NHeads: 4, NKVHeads: 4, DHead: 16}, []int{0, 5, 300}, []int{0, 3, 256}, math.MaxInt32},
		{"gqa", Shape{NHeads: 9, NKVHeads: 3, DHead: 64}, []int{700, 699, 1}, []int{650, 10, 1}, math.MaxInt32},
		{"window", Shape{NHeads: 6, NKVHeads: 2, DHead: 32}, []int{100, 40, 20}, []int{90, 10, 20}, 16},
		{"softcap", Shape{NHeads: 4, NKVHeads: 2, DHead: 16, Cap: 5}, []int{64, 65}, []int{33, 60}, 50},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := c.s
			s.T = len(c.past) + 1 // the last row is padding
			row := s.NHeads * s.DHead
			kvRow := s.NKVHeads * s.DHead
			q := random(s.T*row, r, 1.5)
			z := make([]float32, s.T*row)
			segs := make([][]Segment, s.T)
			pos := make([]int, s.T)
			want := make([][]float64, s.T)
			for i, past := range c.past {
				k, v := random((past+1)*kvRow, r, 1.5), random((past+1)*kvRow, r, 1)
				sp := c.split[i]
				segs[i] = []Segment{{K: k[:sp*kvRow], V: v[:sp*kvRow], Start: 0, N: sp},
					{K: k[sp*kvRow:], V: v[sp*kvRow:], Start: sp, N: past + 1 - sp}}
				if i%2 == 1 { // odd rows give the first segment's keys and values transposed
					segs[i][0].KT, segs[i][0].K = TransposeKeys(k[:sp*kvRow], s, sp), nil
					segs[i][0].VT, segs[i][0].V = TransposeKeys(v[:sp*kvRow], s, sp), nil
				}
				pos[i] = past
				one := s
				one.T = 1
				want[i] = naive(q[i*row:(i+1)*row], k, v, one, past, 0.125, c.window)
			}
			if err := Decode(z, q, segs, pos, s, 0.125, c.window); err != nil {
				t.Fatal(err)
			}
			for i := range c.past {
				for j, w := range want[i] {
					if d := math.Abs(float64(z[i*row+j]) - w); d > 2e-5 {
						t.Fatalf("row %d: z[%d] = %g, want %g", i, j, z[i*row+j], w)
					}
				}
			}
			for j, x := range z[len(c.past)*row:] {
				if x != 0 {
					t.Fatalf("padding row: z[%d] = %g, want 0", j, x)
				}
			}
		})
	}
}

// TestDecodeErrors checks that segments past the query position and short slices are refused.
func TestDecodeErrors(t *testing.T) {
	s := Shape{T: 1, NHeads: 2, NKVHeads: 1, DHead: 4}
	q, z := make([]float32, 8), make([]float32, 8)
	k := make([]float32, 12)
	for _, c := range []struct {
		name string
		segs []Segment
		pos  int
	}{
		{"after query", []Segment{{K: k, V: k, Start: 0, N: 3}}, 1},
		{"short", []Segment{{K: k, V: k, Start: 0, N: 4}}, 5},
		{"overlap", []Segment{{K: k, V: k, Start: 0, N: 2}, {K: k, V: k, Start: 1, N: 1}}, 5},
	} {
		if err := Decode(z, q, [][]Segment{c.segs}, []int{c.pos}, s, 1, 10); err == nil {
			t.Errorf("%s: Decode succeeded, want an error", c.name)
		}
	}
}
