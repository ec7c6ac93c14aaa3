package sgemm

import (
	"unsafe"

	"github.com/agentlens/agentlens/model/internal/isa"
)

// kernel is a GEMM micro-kernel with its register tile (mr × nr) and the cache blocking that suits it.
type kernel struct {
	name   string
	level  isa.Level // instruction set it needs
	mr, nr int       // tile of C computed per call
	mc, kc int       // rows of A and depth packed per block (mc is a multiple of mr)
	// fn computes the mr×nr tile alpha·Apanel·Bpanel (+ beta·C when load≠0) into c (row stride ldc).
	fn func(kc int, a, b, c *float32, ldc int, alpha, beta float32, load int)
}

// vecKernels are the GEMV building blocks; the vector length n passed to each must be a multiple of step.
type vecKernels struct {
	name  string
	level isa.Level
	step  int
	dot4  func(n int, a *float32, lda int, x *float32, out *[4]float32)
	dot1  func(n int, a, x *float32) float32
	axpy4 func(n int, alpha *[4]float32, a *float32, lda int, y *float32)
	axpy1 func(n int, alpha float32, a, y *float32)
}

var (
	kernelGeneric = &kernel{name: "go-4x4", mr: 4, nr: 4, mc: 128, kc: 256, fn: gemmGeneric4x4}
	vecGeneric    = &vecKernels{name: "go", step: 1, dot4: dot4Generic, dot1: dot1Generic, axpy4: axpy4Generic, axpy1: axpy1Generic}
)

// twinKernels are pure-Go twins of every assembly micro-kernel: the same tile and cache blocking,
// computed in Go, so the driver's tiling, packing and edge handling for each tile shape run in tests on
// any CPU (the assembly itself runs only where the CPU has it). Read-only.
var twinKernels = []*kernel{
	{name: "go-12x32", mr: 12, nr: 32, mc: 144, kc: 384, fn: tileKernel(12, 32)},
	{name: "go-6x16", mr: 6, nr: 16, mc: 144, kc: 256, fn: tileKernel(6, 16)},
}

// vecTwin is the pure-Go twin of the AVX2 GEMV kernels: the same 8-wide step, so the drivers' tail
// handling runs in tests on any CPU.
var vecTwin = &vecKernels{name: "go-step8", step: 8, dot4: dot4Generic, dot1: dot1Generic, axpy4: axpy4Generic,
	axpy1: axpy1Generic}

// tileKernel returns a pure-Go micro-kernel for an mr×nr tile (mr·nr ≤ maxTile), computing what the
// assembly kernels compute: alpha·Apanel·Bpanel, plus beta·C when load≠0.
func tileKernel(mr, nr int) func(kc int, a, b, c *float32, ldc int, alpha, beta float32, load int) {
	if mr*nr > maxTile {
		panic("sgemm: tile larger than maxTile")
	}
	return func(kc int, a, b, c *float32, ldc int, alpha, beta float32, load int) {
		pa := unsafe.Slice(a, mr*kc)
		pb := unsafe.Slice(b, nr*kc)
		var buf [maxTile]float32
		acc := buf[:mr*nr]
		for p := 0; p < kc; p++ {
			bv := pb[p*nr : (p+1)*nr]
			for r, av := range pa[p*mr : (p+1)*mr] {
				row := acc[r*nr : (r+1)*nr]
				for j, x := range bv {
					row[j] += av * x
				}
			}
		}
		cs := unsafe.Slice(c, (mr-1)*ldc+nr)
		for r := range mr {
			row := cs[r*ldc : r*ldc+nr]
			for j, v := range acc[r*nr : (r+1)*nr] {
				v *= alpha
				if load != 0 {
					v += beta * row[j]
				}
				row[j] = v
			}
		}
	}
}

// gemmGeneric4x4 is the pure-Go micro-kernel: a 4×4 tile held in sixteen scalars.
func gemmGeneric4x4(kc int, a, b, c *float32, ldc int, alpha, beta float32, load int) {
	pa := unsafe.Slice(a, 4*kc)
	pb := unsafe.Slice(b, 4*kc)
	var c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33 float32
	for p := 0; p < kc; p++ {
		av := pa[4*p : 4*p+4 : 4*p+4]
		bv := pb[4*p : 4*p+4 : 4*p+4]
		a0, a1, a2, a3 := av[0], av[1], av[2], av[3]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
		c20 += a2 * b0
		c21 += a2 * b1
		c22 += a2 * b2
		c23 += a2 * b3
		c30 += a3 * b0
		c31 += a3 * b1
		c32 += a3 * b2
		c33 += a3 * b3
	}
	acc := [16]float32{c00, c01, c02, c03, c10, c11, c12, c13, c20, c21, c22, c23, c30, c31, c32, c33}
	cs := unsafe.Slice(c, 3*ldc+4)
	for r := 0; r < 4; r++ {
		row := cs[r*ldc : r*ldc+4 : r*ldc+4]
		for j := range row {
			v := alpha * acc[4*r+j]
			if load != 0 {
				v += beta * row[j]
			}
			row[j] = v
		}
	}
}

func dot4Generic(n int, a *float32, lda int, x *float32, out *[4]float32) {
	as := unsafe.Slice(a, 3*lda+n)
	xs := unsafe.Slice(x, n)
	for r := 0; r < 4; r++ {
		row := as[r*lda : r*lda+n]
		var s0, s1 float32
		i := 0
		for ; i+1 < n; i += 2 {
			s0 += row[i] * xs[i]
			s1 += row[i+1] * xs[i+1]
		}
		if i < n {
			s0 += row[i] * xs[i]
		}
		out[r] = s0 + s1
	}
}

func dot1Generic(n int, a, x *float32) float32 {
	var out [4]float32
	// Reuse dot4 with lda=0: all four "rows" are the same row.
	dot4Generic(n, a, 0, x, &out)
	return out[0]
}

func axpy4Generic(n int, alpha *[4]float32, a *float32, lda int, y *float32) {
	as := unsafe.Slice(a, 3*lda+n)
	ys := unsafe.Slice(y, n)
	a0, a1, a2, a3 := as[:n], as[lda:lda+n], as[2*lda:2*lda+n], as[3*lda:3*lda+n]
	for i := range ys {
		ys[i] += alpha[0]*a0[i] + alpha[1]*a1[i] + alpha[2]*a2[i] + alpha[3]*a3[i]
	}
}

func axpy1Generic(n int, alpha float32, a, y *float32) {
	as := unsafe.Slice(a, n)
	ys := unsafe.Slice(y, n)
	for i := range ys {
		ys[i] += alpha * as[i]
	}
}
