//go:build !amd64 || purego

package sgemm

// archKernels lists the micro-kernels this build can run: only the pure-Go one.
func archKernels() []*kernel { return []*kernel{kernelGeneric} }

// archVecKernels lists the GEMV kernels this build can run: only the pure-Go one.
func archVecKernels() []*vecKernels { return []*vecKernels{vecGeneric} }

// asmKernels lists every assembly kernel of this build: none.
func asmKernels() []*kernel { return nil }
