package sgemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas32"

	"github.com/agentlens/agentlens/model/internal/isa"
)

// benchShapes are the products the engine spends its time in (SmolLM2-135M: d_model 576, MLP 1536,
// vocab 49152), plus the square reference size. M×K×N: op(A) is M×K, op(B) is K×N.
var benchShapes = []struct {
	m, k, n        int
	transA, transB bool
}{
	{1024, 1024, 1024, false, false},
	{2048, 576, 1536, false, false},
	{2048, 576, 1536, false, true},
	{4096, 576, 576, false, false},
	{1, 576, 49152, false, false},
	{1, 576, 49152, false, true},
}

func benchName(m, k, n int, ta, tb bool) string {
	s := fmt.Sprintf("%dx%dx%d", m, k, n)
	if ta {
		s += "_tA"
	}
	if tb {
		s += "_tB"
	}
	return s
}

func benchOperands(m, k, n int, ta, tb bool) (a []float32, lda int, b []float32, ldb int, c []float32) {
	r := rand.New(rand.NewPCG(1, 2))
	a, b, c = randSlice(r, m*k), randSlice(r, k*n), make([]float32, m*n)
	lda, ldb = k, n
	if ta {
		lda = m
	}
	if tb {
		ldb = k
	}
	return a, lda, b, ldb, c
}

func reportGFLOPS(b *testing.B, m, k, n int) {
	b.ReportMetric(2*float64(m)*float64(n)*float64(k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkSgemm measures Sgemm (all cores, best kernel).
func BenchmarkSgemm(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(benchName(s.m, s.k, s.n, s.transA, s.transB), func(b *testing.B) {
			a, lda, bb, ldb, c := benchOperands(s.m, s.k, s.n, s.transA, s.transB)
			for b.Loop() {
				Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			reportGFLOPS(b, s.m, s.k, s.n)
		})
	}
}

// BenchmarkSgemmSingleThread measures the best kernel on one goroutine.
func BenchmarkSgemmSingleThread(b *testing.B) {
	p := defaultPlan()
	p.threads = 1
	for _, s := range benchShapes {
		b.Run(benchName(s.m, s.k, s.n, s.transA, s.transB), func(b *testing.B) {
			a, lda, bb, ldb, c := benchOperands(s.m, s.k, s.n, s.transA, s.transB)
			for b.Loop() {
				p.gemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, s.n)
			}
			reportGFLOPS(b, s.m, s.k, s.n)
		})
	}
}

// BenchmarkGonum measures gonum's blas32.Gemm (pure Go, its default implementation) on the same shapes.
func BenchmarkGonum(b *testing.B) {
	for _, s := range benchShapes {
		b.Run(benchName(s.m, s.k, s.n, s.transA, s.transB), func(b *testing.B) {
			a, lda, bb, ldb, c := benchOperands(s.m, s.k, s.n, s.transA, s.transB)
			ga := blas32.General{Rows: s.m, Cols: s.k, Stride: lda, Data: a}
			ta, tb := blas.NoTrans, blas.NoTrans
			if s.transA {
				ga.Rows, ga.Cols, ta = s.k, s.m, blas.Trans
			}
			gb := blas32.General{Rows: s.k, Cols: s.n, Stride: ldb, Data: bb}
			if s.transB {
				gb.Rows, gb.Cols, tb = s.n, s.k, blas.Trans
			}
			gc := blas32.General{Rows: s.m, Cols: s.n, Stride: s.n, Data: c}
			for b.Loop() {
				blas32.Gemm(ta, tb, 1, ga, gb, 0, gc)
			}
			reportGFLOPS(b, s.m, s.k, s.n)
		})
	}
}

// BenchmarkSelfCheck is the start-up cost of choosing the kernels: every candidate's self-check.
func BenchmarkSelfCheck(b *testing.B) {
	for b.Loop() {
		choose(isa.Choice{Max: isa.CPULevel()}, archKernels(), archVecKernels())
	}
}

// BenchmarkPackA packs the attention kernel's score tile (384 rows: three query heads × 128 queries,
// by a key block of 256) into micro-panels of each kernel height, through packA's interleaving fast
// path and through the strided scatter it replaces, in the same process: compare the two per height.
func BenchmarkPackA(b *testing.B) {
	const m, k = 384, 256
	a := randSlice(rand.New(rand.NewPCG(3, 4)), m*k)
	for _, mr := range []int{6, 12} {
		dst := make([]float32, m*k)
		b.Run(fmt.Sprintf("mr%d/interleave", mr), func(b *testing.B) {
			for b.Loop() {
				packA(dst, a, k, false, 0, m, 0, k, mr)
			}
			b.SetBytes(int64(4 * m * k))
		})
		b.Run(fmt.Sprintf("mr%d/scatter", mr), func(b *testing.B) {
			for b.Loop() {
				for ip := 0; ip*mr < m; ip++ {
					for r := range mr {
						row := (ip*mr + r) * k
						scatter(dst[ip*mr*k+r:], a[row:row+k], mr)
					}
				}
			}
			b.SetBytes(int64(4 * m * k))
		})
	}
}
