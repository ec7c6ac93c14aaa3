//go:build amd64 && !purego

package vmath

import "github.com/agentlens/agentlens/model/internal/isa"

// expShiftAVX2 sets x[i] = e^(x[i]−shift) for i < n, n a multiple of 8, and returns their sum; inputs
// below −87.34 after the shift give 1.2e-38 (e^−87.34), not 0. Needs AVX2 and FMA.
//
//go:noescape
func expShiftAVX2(n int, x *float32, shift float32) float32

// maxAVX2 returns the largest of init and x[0..n), n a multiple of 8. Needs AVX2.
//
//go:noescape
func maxAVX2(n int, x *float32, init float32) float32

var rowAVX2 = &rowKernels{name: "avx2", level: isa.AVX2, expShift: expShiftAVX2, rowMax: maxAVX2}

// archRowKernels lists the row kernels this CPU runs, best first; the generic one is always last.
func archRowKernels() []*rowKernels {
	if rowAVX2.level <= isa.CPULevel() {
		return []*rowKernels{rowAVX2, rowGeneric}
	}
	return []*rowKernels{rowGeneric}
}

// asmRowKernels lists every assembly row kernel of this build, whether or not this CPU runs it.
func asmRowKernels() []*rowKernels { return []*rowKernels{rowAVX2} }
