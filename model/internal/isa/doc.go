// Package isa chooses which instruction-set path the CPU kernels of agentlens take (package sgemm's
// micro-kernels, package vmath's row loops): the best level this CPU has ("avx512", "avx2" or
// "generic", the pure-Go code), capped or forced by the AGENTLENS_KERNEL environment variable, and the
// one place their start-up self-check warnings are printed.
//
// Every kernel that a level selects is checked against the pure-Go one on a handful of edge shapes
// before its first use; a kernel that disagrees is reported once on stderr and skipped for the next
// one down. AGENTLENS_KERNEL=generic|avx2|avx512 forces a level, for bug reports and benchmarks: a
// forced kernel that fails its self-check is still used, with the warning.
package isa
