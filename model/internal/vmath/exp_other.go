//go:build !amd64 || purego

package vmath

// archRowKernels lists the row kernels this build runs: only the pure-Go one.
func archRowKernels() []*rowKernels { return []*rowKernels{rowGeneric} }

// asmRowKernels lists every assembly row kernel of this build: none.
func asmRowKernels() []*rowKernels { return nil }
