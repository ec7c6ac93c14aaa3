//go:build !purego

package isa

// purego is true under the purego build tag: the assembly kernels are not compiled in.
const purego = false
