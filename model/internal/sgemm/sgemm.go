package sgemm

import (
	"fmt"
	"runtime"
	"strings"
	"time"
)

// Work below this many multiply-adds (m·n·k) runs on the calling goroutine only: starting workers costs
// a few microseconds, which small products do not repay.
const parallelMinWork = 96 * 96 * 96

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float32 matrices, where op(X) is X or Xᵀ
// as transA/transB say, op(A) is m×k, op(B) is k×n and C is m×n.
//
// A is stored in a with row stride lda (a is m×k, or k×m when transA), B in b with row stride ldb (k×n,
// or n×k when transB), C in c with row stride ldc. When beta is 0, C is only written, never read (NaNs
// in it do not propagate), as in BLAS. Large products run on runtime.GOMAXPROCS goroutines.
//
// Sgemm panics when a dimension is negative or a stride or slice is too short for the dimensions:
// those are programming errors, as in gonum's blas32.
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	p := defaultPlan()
	p.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmSerial is Sgemm on the calling goroutine only, for callers that run many products in parallel
// themselves (one worker per tile).
func SgemmSerial(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int) {
	checkGemm(transA, transB, m, n, k, a, lda, b, ldb, c, ldc)
	p := defaultPlan()
	p.threads = 1
	p.gemm(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// SgemmBatch computes batch independent products C_i = alpha·op(A_i)·op(B_i) + beta·C_i, with the
// operands of product i starting at a[i·strideA], b[i·strideB] and c[i·strideC] and laid out as in
// Sgemm. A stride of 0 for A or B reuses the same matrix for every product (a broadcast); the C
// matrices must not overlap. Small products run in parallel across the batch, large ones one after
// another, each in parallel.
//
// SgemmBatch panics on negative dimensions or strides, overlapping outputs, or slices too short.
func SgemmBatch(transA, transB bool, batch, m, n, k int, alpha float32, a []float32, lda, strideA int,
	b []float32, ldb, strideB int, beta float32, c []float32, ldc, strideC int) {
	if batch < 0 || strideA < 0 || strideB < 0 || strideC < 0 {
		panic(fmt.Sprintf("sgemm: negative batch %d or stride (a %d, b %d, c %d)", batch, strideA, strideB, strideC))
	}
	if batch == 0 || m == 0 || n == 0 {
		return
	}
	if batch > 1 && strideC < (m-1)*ldc+n {
		panic(fmt.Sprintf("sgemm: strideC %d makes the %d×%d outputs (ldc %d) overlap", strideC, m, n, ldc))
	}
	last := batch - 1
	checkGemm(transA, transB, m, n, k, tail(a, last*strideA), lda, tail(b, last*strideB), ldb,
		tail(c, last*strideC), ldc)
	defaultPlan().batch(transA, transB, batch, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
		func(i int) (int, int, int) { return i * strideA, i * strideB, i * strideC })
}

// SgemmBatchOffsets is SgemmBatch with the start of each A_i, B_i and C_i given explicitly (offA[i],
// offB[i], offC[i]): for batches whose matrices are not evenly spaced, such as the (batch, head) pairs
// of a [batch, seq, heads, dim] tensor. The three offset slices must have the same length; the C
// matrices must not overlap (not checked: overlapping outputs are a data race).
//
// SgemmBatchOffsets panics on negative dimensions or offsets, or slices too short for them.
func SgemmBatchOffsets(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, offA []int,
	b []float32, ldb int, offB []int, beta float32, c []float32, ldc int, offC []int) {
	if len(offA) != len(offB) || len(offA) != len(offC) {
		panic(fmt.Sprintf("sgemm: offset counts differ: a %d, b %d, c %d", len(offA), len(offB), len(offC)))
	}
	for i := range offA {
		if offA[i] < 0 || offB[i] < 0 || offC[i] < 0 {
			panic(fmt.Sprintf("sgemm: negative offset for product %d", i))
		}
		checkGemm(transA, transB, m, n, k, tail(a, offA[i]), lda, tail(b, offB[i]), ldb, tail(c, offC[i]), ldc)
	}
	if m == 0 || n == 0 {
		return
	}
	defaultPlan().batch(transA, transB, len(offA), m, n, k, alpha, a, lda, b, ldb, beta, c, ldc,
		func(i int) (int, int, int) { return offA[i], offB[i], offC[i] })
}

// tail returns x[off:], or an empty slice when off is past the end (the checks then report it).
func tail(x []float32, off int) []float32 { return x[min(len(x), off):] }

// batch runs count checked products whose operands start at the offsets returned by off(i).
func (p plan) batch(transA, transB bool, count, m, n, k int, alpha float32, a []float32, lda int,
	b []float32, ldb int, beta float32, c []float32, ldc int, off func(i int) (int, int, int)) {
	item := func(pl plan, i int) {
		oa, ob, oc := off(i)
		pl.gemm(transA, transB, m, n, k, alpha, tail(a, oa), lda, tail(b, ob), ldb, beta, tail(c, oc), ldc)
	}
	// Products big enough to keep all workers busy on their own go one after another.
	if p.threads <= 1 || count == 1 || m*n*k >= 8*parallelMinWork*p.threads {
		for i := range count {
			item(p, i)
		}
		return
	}
	single := p
	single.threads = 1
	parallelDo(p.threads, count, func(_, i int) { item(single, i) })
}

// plan is the kernel choice and thread count for one call.
type plan struct {
	k       *kernel
	v       *vecKernels
	threads int
}

// defaultPlan uses the kernels chosen for this process (see chosen) and GOMAXPROCS threads.
func defaultPlan() plan {
	c := chosen()
	return plan{k: c.gemm, v: c.vec, threads: runtime.GOMAXPROCS(0)}
}

// KernelName names the kernels Sgemm uses in this process, micro-kernel and GEMV
// ("avx512-12x32+avx2", "avx2-6x16+avx2", "go-4x4+go"), for benchmark reports and bug reports.
func KernelName() string {
	c := chosen()
	return c.gemm.name + "+" + c.vec.name
}

// KernelRace describes the start-up race between micro-kernels (raceGemm), the chosen one first:
// "avx512-12x32 T1 ms, avx2-6x16 T2 ms"; empty when none was run (one assembly kernel at most, or
// AGENTLENS_KERNEL forced the level).
func KernelRace() string {
	var parts []string
	for _, r := range chosen().raced {
		parts = append(parts, fmt.Sprintf("%s %.2f ms", r.name, float64(r.d)/float64(time.Millisecond)))
	}
	return strings.Join(parts, ", ")
}

// checkGemm panics when the arguments of a GEMM are inconsistent.
func checkGemm(transA, transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("sgemm: negative dimension m=%d n=%d k=%d", m, n, k))
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	checkMatrix("a", rowsA, colsA, a, lda)
	checkMatrix("b", rowsB, colsB, b, ldb)
	checkMatrix("c", m, n, c, ldc)
}

func checkMatrix(name string, rows, cols int, x []float32, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("sgemm: ld%s %d < max(1, %d columns)", name, ld, cols))
	}
	if rows > 0 && cols > 0 && len(x) < (rows-1)*ld+cols {
		panic(fmt.Sprintf("sgemm: len(%s) %d < %d for a %d×%d matrix with ld%s %d", name, len(x), (rows-1)*ld+cols,
			rows, cols, name, ld))
	}
}

// gemm dispatches one checked product: trivial cases, GEMV shapes, or the blocked algorithm.
func (p plan) gemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int,
	beta float32, c []float32, ldc int) {
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleMatrix(m, n, beta, c, ldc)
		return
	}
	if m*n*k < parallelMinWork {
		p.threads = 1
	}
	switch {
	case m == 1:
		p.gemvRow(transA, transB, n, k, alpha, a, lda, b, ldb, beta, c)
	case n == 1:
		p.gemvCol(transA, transB, m, k, alpha, a, lda, b, ldb, beta, c, ldc)
	case m <= fewRows && !transA && transB:
		p.gemvRows(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	default:
		p.blocked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
	}
}

// scaleMatrix sets C = beta·C (C = 0 when beta is 0, without reading C).
func scaleMatrix(m, n int, beta float32, c []float32, ldc int) {
	for i := range m {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		if beta == 1 {
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func roundUp(a, b int) int { return ceilDiv(a, b) * b }
