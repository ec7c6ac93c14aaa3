package sgemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
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
		// m ≡ 6 (mod 12): a last 6-row panel under the AVX-512 12×32 kernel, once packed with the
		// 6×16 kernel's stride (wrong results on every AVX-512 CPU, unseen on AVX2 ones).
		{6, 32, 16}, {18, 17, 5}, {30, 64, 33},
		// A decoding step: a few rows against a weight matrix (the few-rows GEMV when transB).
		{8, 1536, 576}, {3, 130, 67},
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

// operands builds the random operands of a case and the naive reference result.
type operands struct {
	a, b, c, want []float32
	lda, ldb, ldc int
}

func newOperands(tc gemmCase) operands { return newOperandsSeed(tc, 7) }

// newOperandsSeed is newOperands with a second seed, for several operand sets of one shape.
func newOperandsSeed(tc gemmCase, seed uint64) operands {
	r := rand.New(rand.NewPCG(uint64(tc.m*1000003+tc.n*1009+tc.k), seed))
	rowsA, colsA := tc.m, tc.k
	if tc.transA {
		rowsA, colsA = tc.k, tc.m
	}
	rowsB, colsB := tc.k, tc.n
	if tc.transB {
		rowsB, colsB = tc.n, tc.k
	}
	o := operands{lda: colsA + tc.padA, ldb: colsB + tc.padB, ldc: tc.n + tc.padC}
	o.a = randSlice(r, max(0, (rowsA-1)*o.lda+colsA))
	o.b = randSlice(r, max(0, (rowsB-1)*o.ldb+colsB))
	o.c = randSlice(r, max(0, (tc.m-1)*o.ldc+tc.n))
	if tc.beta == 0 {
		// beta = 0 must ignore C entirely, NaNs included.
		for i := range o.c {
			o.c[i] = float32(math.NaN())
		}
	}
	o.want = append([]float32(nil), o.c...)
	naive(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, o.a, o.lda, o.b, o.ldb, tc.beta, o.want, o.ldc)
	return o
}

// compare checks got against the reference: the padding between rows of C must be untouched and the
// values within tolerance. Tolerance: the float32 result of a k-term dot product with inputs in
// [-1, 1] has error ≲ k·2⁻²⁴·Σ|aᵢbᵢ| ≤ k²·2⁻²⁴ (summation-order dependent); we allow
// |got-want| ≤ 1e-6·(1+|want|) + 4·k·2⁻²⁴·(|alpha|·k + |beta|), loose but far below any indexing
// mistake, which is O(1).
func compare(t *testing.T, label string, tc gemmCase, o operands, got []float32) {
	t.Helper()
	eps := float64(4*tc.k) / (1 << 24) * (math.Abs(float64(tc.alpha))*float64(tc.k) + math.Abs(float64(tc.beta)))
	for i := range tc.m {
		for j := range o.ldc {
			idx := i*o.ldc + j
			if idx >= len(got) {
				break
			}
			g, w := got[idx], o.want[idx]
			if j >= tc.n {
				if math.Float32bits(g) != math.Float32bits(o.c[idx]) {
					t.Fatalf("%s %s: padding C[%d,%d] = %v, want untouched %v", label, tc.name, i, j, g, o.c[idx])
				}
				continue
			}
			tol := 1e-6*(1+math.Abs(float64(w))) + eps
			if d := math.Abs(float64(g) - float64(w)); !(d <= tol) {
				t.Fatalf("%s %s: C[%d,%d] = %v, want %v (|diff| %g > tol %g)", label, tc.name, i, j, g, w, d, tol)
			}
		}
	}
}

// runCase runs one case through p on a copy of its C and compares the result with the reference.
func runCase(t *testing.T, label string, p plan, tc gemmCase, o operands) {
	t.Helper()
	got := append([]float32(nil), o.c...)
	p.gemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, o.a, o.lda, o.b, o.ldb, tc.beta, got, o.ldc)
	compare(t, label, tc, o, got)
}

// TestGemmKernels runs every case with every kernel this CPU supports and every pure-Go twin (see
// testKernels), on 1, 2 and 3 goroutines.
func TestGemmKernels(t *testing.T) {
	cases := gemmCases()
	ops := make([]operands, len(cases))
	for i, tc := range cases {
		ops[i] = newOperands(tc)
	}
	gemms, vecs := testKernels()
	for _, kern := range gemms {
		for _, vec := range vecs {
			if slices.Contains(twinKernels, kern) != (vec == vecTwin) {
				continue // the twins together; the CPU's kernels in every pairing
			}
			for _, threads := range []int{1, 2, 3} {
				p := plan{k: kern, v: vec, threads: threads}
				label := fmt.Sprintf("%s_%s_t%d", kern.name, vec.name, threads)
				t.Run(label, func(t *testing.T) {
					for i, tc := range cases {
						runCase(t, label, p, tc, ops[i])
					}
				})
			}
		}
	}
}

// TestSgemm checks the exported entry point (default kernel and threads) on every case.
func TestSgemm(t *testing.T) {
	for _, tc := range gemmCases() {
		o := newOperands(tc)
		got := append([]float32(nil), o.c...)
		Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, tc.alpha, o.a, o.lda, o.b, o.ldb, tc.beta, got, o.ldc)
		compare(t, "Sgemm", tc, o, got)
	}
}

// TestSgemmBatch compares batched products (strided, broadcast and explicit offsets) with one Sgemm
// call per item, which TestSgemm checks against the naive reference; the results must be identical
// bit for bit, since each item runs the same code on the same data.
func TestSgemmBatch(t *testing.T) {
	cases := []struct {
		name                      string
		transA, transB            bool
		batch, m, n, k            int
		strideA, strideB, strideC int // 0 for A or B is a broadcast
	}{
		{"attention_like", false, true, 6, 9, 11, 8, 9 * 8, 11 * 8, 9 * 11},
		{"broadcast_weights", false, false, 4, 70, 33, 20, 70 * 20, 0, 70 * 33},
		{"broadcast_lhs_transposed", true, false, 3, 5, 40, 64, 0, 64 * 40, 5*40 + 3},
		{"large_items", false, true, 2, 200, 150, 130, 200 * 130, 150 * 130, 200 * 150},
		{"gemv_items", false, true, 5, 1, 300, 64, 64, 300 * 64, 300},
		{"single", false, false, 1, 13, 17, 19, 0, 0, 0},
	}
	r := rand.New(rand.NewPCG(11, 12))
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			lda, ldb := tc.k, tc.n
			if tc.transA {
				lda = tc.m
			}
			if tc.transB {
				ldb = tc.k
			}
			last := tc.batch - 1
			a := randSlice(r, last*tc.strideA+tc.m*tc.k)
			b := randSlice(r, last*tc.strideB+tc.k*tc.n)
			c := randSlice(r, last*tc.strideC+tc.m*tc.n)
			want := append([]float32(nil), c...)
			for i := range tc.batch {
				Sgemm(tc.transA, tc.transB, tc.m, tc.n, tc.k, 0.5, a[i*tc.strideA:], lda, b[i*tc.strideB:], ldb, 2,
					want[i*tc.strideC:], tc.n)
			}
			got := append([]float32(nil), c...)
			SgemmBatch(tc.transA, tc.transB, tc.batch, tc.m, tc.n, tc.k, 0.5, a, lda, tc.strideA, b, ldb, tc.strideB, 2,
				got, tc.n, tc.strideC)
			if i := mismatch(got, want); i >= 0 {
				t.Fatalf("SgemmBatch: c[%d] = %v, want %v (per-item Sgemm)", i, got[i], want[i])
			}
			offA, offB, offC := make([]int, tc.batch), make([]int, tc.batch), make([]int, tc.batch)
			for i := range tc.batch {
				offA[i], offB[i], offC[i] = i*tc.strideA, i*tc.strideB, i*tc.strideC
			}
			got = append(got[:0], c...)
			SgemmBatchOffsets(tc.transA, tc.transB, tc.m, tc.n, tc.k, 0.5, a, lda, offA, b, ldb, offB, 2, got, tc.n, offC)
			if i := mismatch(got, want); i >= 0 {
				t.Fatalf("SgemmBatchOffsets: c[%d] = %v, want %v (per-item Sgemm)", i, got[i], want[i])
			}
		})
	}
}

func mismatch(got, want []float32) int {
	for i := range want {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			return i
		}
	}
	return -1
}

// TestSgemmPanics checks that inconsistent arguments panic with an sgemm message instead of reading
// or writing out of bounds.
func TestSgemmPanics(t *testing.T) {
	buf := make([]float32, 100)
	cases := []struct {
		name string
		call func()
	}{
		{"negative_m", func() { Sgemm(false, false, -1, 2, 2, 1, buf, 2, buf, 2, 0, buf, 2) }},
		{"lda_too_small", func() { Sgemm(false, false, 3, 3, 4, 1, buf, 3, buf, 3, 0, buf, 3) }},
		{"lda_too_small_transposed", func() { Sgemm(true, false, 5, 3, 4, 1, buf, 4, buf, 3, 0, buf, 3) }},
		{"ldb_too_small", func() { Sgemm(false, true, 3, 3, 4, 1, buf, 4, buf, 3, 0, buf, 3) }},
		{"ldc_too_small", func() { Sgemm(false, false, 3, 3, 4, 1, buf, 4, buf, 3, 0, buf, 2) }},
		{"a_too_short", func() { Sgemm(false, false, 30, 3, 4, 1, buf, 4, buf, 3, 0, make([]float32, 90), 3) }},
		{"c_too_short", func() { Sgemm(false, false, 3, 3, 4, 1, buf, 4, buf, 3, 0, buf[:8], 3) }},
		{"batch_overlapping_c", func() { SgemmBatch(false, false, 2, 3, 3, 2, 1, buf, 2, 6, buf, 3, 6, 0, buf, 3, 8) }},
		{"batch_past_end", func() { SgemmBatch(false, false, 20, 3, 3, 2, 1, buf, 2, 6, buf, 3, 6, 0, buf, 3, 9) }},
		{"offsets_count", func() {
			SgemmBatchOffsets(false, false, 2, 2, 2, 1, buf, 2, []int{0}, buf, 2, []int{0, 4}, 0, buf, 2, []int{0})
		}},
		{"offset_past_end", func() {
			SgemmBatchOffsets(false, false, 2, 2, 2, 1, buf, 2, []int{99}, buf, 2, []int{0}, 0, buf, 2, []int{0})
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || !strings.HasPrefix(s, "sgemm: ") {
					t.Errorf("panic = %v, want an \"sgemm: ...\" message", r)
				}
			}()
			tc.call()
		})
	}
}

// TestZeroSizes checks the degenerate shapes: nothing is touched when m or n is 0, and k = 0 or
// alpha = 0 reduce to C = beta·C.
func TestZeroSizes(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	Sgemm(false, false, 0, 2, 3, 1, nil, 3, make([]float32, 6), 2, 0, c, 2)
	Sgemm(false, false, 2, 0, 3, 1, make([]float32, 6), 3, nil, 1, 0, c, 2)
	if fmt.Sprint(c) != "[1 2 3 4]" {
		t.Errorf("m or n = 0: c = %v, want untouched", c)
	}
	Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 2, c, 2)
	if fmt.Sprint(c) != "[2 4 6 8]" {
		t.Errorf("k = 0, beta = 2: c = %v, want [2 4 6 8]", c)
	}
	Sgemm(false, false, 2, 2, 1, 0, []float32{1, 1}, 1, []float32{1, 1}, 2, 0, c, 2)
	if fmt.Sprint(c) != "[0 0 0 0]" {
		t.Errorf("alpha = 0, beta = 0: c = %v, want zeros", c)
	}
}

// TestPackA checks packA against its definition (panel q holds, per depth step, the mr values
// A[i0+q·mr+r, p], zero past the last row) for every kernel height, full and partial panels, both
// layouts of A and an offset block: the interleaving fast paths (6 and 12 rows) and the scatter
// fallback must agree with it exactly.
func TestPackA(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	const rowsA, colsA = 40, 37
	a := randSlice(r, rowsA*colsA)
	for _, mr := range []int{4, 6, 12} {
		for _, transA := range []bool{false, true} {
			for _, blk := range []struct{ i0, mc, p0, kc int }{{0, 36, 0, 37}, {2, 25, 5, 19}, {12, 12, 1, 1}, {3, 7, 0, 30}} {
				lda, at := colsA, func(i, p int) float32 { return a[i*colsA+p] }
				if transA { // a holds A transposed: A is colsA × rowsA
					lda, at = rowsA, func(i, p int) float32 { return a[p*rowsA+i] }
					if blk.i0+blk.mc > colsA || blk.p0+blk.kc > rowsA {
						continue
					}
				}
				panels := (blk.mc + mr - 1) / mr
				got := make([]float32, panels*mr*blk.kc)
				for i := range got {
					got[i] = float32(math.NaN()) // every element must be written
				}
				packA(got, a, lda, transA, blk.i0, blk.mc, blk.p0, blk.kc, mr)
				for q := range panels {
					for p := range blk.kc {
						for rr := range mr {
							want := float32(0)
							if i := q*mr + rr; i < blk.mc {
								want = at(blk.i0+i, blk.p0+p)
							}
							if g := got[(q*blk.kc+p)*mr+rr]; g != want { // NaN: never written
								t.Fatalf("mr %d transA %v block %+v: panel %d depth %d row %d = %v, want %v", mr, transA, blk, q, p, rr, g, want)
							}
						}
					}
				}
			}
		}
	}
}
