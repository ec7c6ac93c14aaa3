package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// naive is the reference: a float64-accumulated triple loop straight from the definition.
func naive(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int) {
	for i := range m {
		for j := range n {
			var s float64
			for q := range k {
				var av, bv float32
				if transA {
					av = a[q*lda+i]
				} else {
					av = a[i*lda+q]
				}
				if transB {
					bv = b[j*ldb+q]
				} else {
					bv = b[q*ldb+j]
				}
				s += float64(av) * float64(bv)
			}
			v := float64(alpha) * s
			if beta != 0 {
				v += float64(beta) * float64(c[i*ldc+j])
			}
			c[i*ldc+j] = float32(v)
		}
	}
}

func randSlice(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	return x
}

type gemmCase struct {
	name           string
	transA, transB bool
	m, n, k        int
	padA, padB     int // extra row stride beyond the minimum
	padC           int
	alpha, beta    float32
}

func gemmCases() []gemmCase {
	var cases []gemmCase
	dims := [][3]int{
		{1, 1, 1}, {1, 7, 5}, {7, 1, 5}, {1, 1, 63}, {7, 7, 7}, {12, 32, 1}, {13, 33, 2}, {63, 65, 129},
		{65, 63, 7}, {129, 65, 63}, {1, 200, 577}, {300, 1, 129}, {5, 1000, 33}, {1000, 5, 33},
		{100, 100, 1}, {192, 192, 400}, {257, 300, 385}, {2, 4097, 9}, {37, 4100, 70}, {1, 2050, 9},
	}
	for _, d := range dims {
		for _, tr := range [][2]bool{{false, false}, {false, true}, {true, false}, {true, true}} {
			for _, ab := range [][2]float32{{1, 0}, {0.5, 1}, {-1.25, 0.75}} {
				cases = append(cases, gemmCase{
					name:   fmt.Sprintf("m%d_n%d_k%d_tA%v_tB%v_a%g_b%g", d[0], d[1], d[2], tr[0], tr[1], ab[0], ab[1]),
					transA: tr[0], transB: tr[1], m: d[0], n: d[1], k: d[2],
					padA: (d[0] + d[2]) % 3, padB: (d[1] + d[2]) % 4, padC: d[0] % 5,
					alpha: ab[0], beta: ab[1],
				})
			}
		}
	}
	return cases
}

// runCase runs one case with plan p and compares with the naive reference. Tolerance: the float32
// result of a k-term dot product with inputs in [-1, 1] has error ≲ k·2⁻²⁴·Σ|aᵢbᵢ| (summation-order
// dependent); we allow |got-want| ≤ 1e-6·(1+|want|) + 4·k·2⁻²⁴·(|alpha|·k + |beta|·|c|), a loose bound
// well above the observed error and far below any indexing mistake (which is O(1)).
func runCase(t *testing.T, p plan, tc gemmCase) {
	t.Helper()
	r := rand.New(rand.NewPCG(uint64(tc.m*1000003+tc.n*1009+tc.k), 7))
	rowsA, colsA := tc.m, tc.k
	if tc.transA {
		rowsA, colsA = tc.k, tc.m
	}
	rowsB, colsB := tc.k, tc.n
	if tc.transB {
		rowsB, colsB = tc.n, tc.k
	}
	lda, ldb, ldc := colsA+tc.padA, colsB+tc.padB, tc.n+tc.padC
	a := randSlice(r, max(0, (rowsA-1)*lda+colsA))
	b := randSlice(r, max(0, (rowsB-1)*ldb+colsB))
	c := randSlice(r, max(0, (tc.m-1)*ldc+tc.n))
	if tc.beta == 0 {
		// beta = 0 must ignore C entirely, NaNs included.
		for i := range c {
			c[i] = float32(math.NaN())
		}
	}
	want := append([]float32(nil), c...)
	naive(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, want, ldc)
	got := append([]float32(nil), c...)
	checkGemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, a, lda, b, ldb, got, ldc)
	p.gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, a, lda, b, ldb, tc.beta, got, ldc)
	eps := float64(4*tc.k) / (1 << 24) * (math.Abs(float64(tc.alpha))*float64(tc.k) + math.Abs(float64(tc.beta)))
	for i := range tc.m {
		for j := range ldc {
			idx := i*ldc + j
			if idx >= len(got) {
				break
			}
			g, w := got[idx], want[idx]
			if j >= tc.n {
				// Padding between rows must be untouched.
				if math.Float32bits(g) != math.Float32bits(c[idx]) {
					t.Fatalf("%s: padding C[%d,%d] = %v, want untouched %v", p.k.name, i, j, g, c[idx])
				}
				continue
			}
			tol := 1e-6*(1+math.Abs(float64(w))) + eps
			if d := math.Abs(float64(g) - float64(w)); !(d <= tol) {
				t.Fatalf("%s/%s: C[%d,%d] = %v, want %v (|diff| %g > tol %g)", p.k.name, p.v.name, i, j, g, w, d, tol)
			}
		}
	}
}

func TestGemmKernels(t *testing.T) {
	for _, kern := range archKernels() {
		for _, vec := range archVecKernels() {
			for _, threads := range []int{1, 2, 3} {
				p := plan{k: kern, v: vec, threads: threads}
				t.Run(fmt.Sprintf("%s_%s_t%d", kern.name, vec.name, threads), func(t *testing.T) {
					for _, tc := range gemmCases() {
						runCase(t, p, tc)
					}
				})
			}
		}
	}
}
