//go:build amd64 && !purego

package sgemm

import "github.com/agentlens/agentlens/model/internal/isa"

//go:generate go run gen_asm.go

// Micro-kernels in kernel_amd64.s; see gen_asm.go for what each computes.

//go:noescape
func gemmAVX512x12x32(kc int, a, b, c *float32, ldc int, alpha, beta float32, load int)

//go:noescape
func gemmAVX2x6x16(kc int, a, b, c *float32, ldc int, alpha, beta float32, load int)

//go:noescape
func dot4AVX2(n int, a *float32, lda int, x *float32, out *[4]float32)

//go:noescape
func dot1AVX2(n int, a, x *float32) float32

//go:noescape
func axpy4AVX2(n int, alpha *[4]float32, a *float32, lda int, y *float32)

//go:noescape
func axpy1AVX2(n int, alpha float32, a, y *float32)

var (
	kernelAVX512 = &kernel{name: "avx512-12x32", level: isa.AVX512, mr: 12, nr: 32, mc: 144, kc: 384, fn: gemmAVX512x12x32}
	kernelAVX2   = &kernel{name: "avx2-6x16", level: isa.AVX2, mr: 6, nr: 16, mc: 144, kc: 256, fn: gemmAVX2x6x16}
	vecAVX2      = &vecKernels{name: "avx2", level: isa.AVX2, step: 8, dot4: dot4AVX2, dot1: dot1AVX2, axpy4: axpy4AVX2, axpy1: axpy1AVX2}
)

// archKernels lists the micro-kernels this CPU can run, best first; the generic one is always last.
func archKernels() []*kernel {
	var ks []*kernel
	for _, k := range []*kernel{kernelAVX512, kernelAVX2} {
		if k.level <= isa.CPULevel() {
			ks = append(ks, k)
		}
	}
	return append(ks, kernelGeneric)
}

// archVecKernels lists the GEMV kernels this CPU can run, best first; the generic one is always last.
func archVecKernels() []*vecKernels {
	if vecAVX2.level <= isa.CPULevel() {
		return []*vecKernels{vecAVX2, vecGeneric}
	}
	return []*vecKernels{vecGeneric}
}

// asmKernels lists every assembly kernel of this build, whether or not this CPU runs it.
func asmKernels() []*kernel { return []*kernel{kernelAVX512, kernelAVX2} }
